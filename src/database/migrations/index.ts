import { Migration20261128000100Users } from './Migration20261128000100Users';
import { Migration20261128000200MailOutbox } from './Migration20261128000200MailOutbox';
import { Migration20261128000300SigningKeys } from './Migration20261128000300SigningKeys';
import { Migration20261128000400Sessions } from './Migration20261128000400Sessions';
import { Migration20261128000500ApiKeys } from './Migration20261128000500ApiKeys';
import { Migration20261128000600UserChangeNotify } from './Migration20261128000600UserChangeNotify';
import { Migration20261204000100Registrations } from './Migration20261204000100Registrations';
import { Migration20261205000100ApiKeyRollsAndScopes } from './Migration20261205000100ApiKeyRollsAndScopes';
import { Migration20261205000200ApiKeyUsage } from './Migration20261205000200ApiKeyUsage';
import { Migration20261205000400MailFailures } from './Migration20261205000400MailFailures';
import { Migration20261206000100RevocationNotify } from './Migration20261206000100RevocationNotify';
import { Migration20261206000200Retention } from './Migration20261206000200Retention';
import { Migration20261207000100RefreshTokenShared } from './Migration20261207000100RefreshTokenShared';
import { Migration20261208000100MailOutboxRecipient } from './Migration20261208000100MailOutboxRecipient';
import { Migration20261209000100MailOutboxQueuePosition } from './Migration20261209000100MailOutboxQueuePosition';
import { Migration20261210000100ApiKeyRetention } from './Migration20261210000100ApiKeyRetention';
import { Migration20261211000100MailOutboxLanes } from './Migration20261211000100MailOutboxLanes';
import { Migration20261211000200DeletedApiKeyHashes } from './Migration20261211000200DeletedApiKeyHashes';
import { Migration20261211000300EmailDomainsInOneForm } from './Migration20261211000300EmailDomainsInOneForm';
import { Migration20261212000100MailOutboxInbox } from './Migration20261212000100MailOutboxInbox';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list works from
 * TypeScript sources, compiled output and tests.
 */
export const migrationsList = [
  { name: 'Migration20261128000100Users', class: Migration20261128000100Users },
  { name: 'Migration20261128000200MailOutbox', class: Migration20261128000200MailOutbox },
  { name: 'Migration20261128000300SigningKeys', class: Migration20261128000300SigningKeys },
  { name: 'Migration20261128000400Sessions', class: Migration20261128000400Sessions },
  { name: 'Migration20261128000500ApiKeys', class: Migration20261128000500ApiKeys },
  { name: 'Migration20261128000600UserChangeNotify', class: Migration20261128000600UserChangeNotify },
  { name: 'Migration20261204000100Registrations', class: Migration20261204000100Registrations },
  { name: 'Migration20261205000100ApiKeyRollsAndScopes', class: Migration20261205000100ApiKeyRollsAndScopes },
  { name: 'Migration20261205000200ApiKeyUsage', class: Migration20261205000200ApiKeyUsage },
  { name: 'Migration20261205000400MailFailures', class: Migration20261205000400MailFailures },
  { name: 'Migration20261206000100RevocationNotify', class: Migration20261206000100RevocationNotify },
  { name: 'Migration20261206000200Retention', class: Migration20261206000200Retention },
  { name: 'Migration20261207000100RefreshTokenShared', class: Migration20261207000100RefreshTokenShared },
  { name: 'Migration20261208000100MailOutboxRecipient', class: Migration20261208000100MailOutboxRecipient },
  { name: 'Migration20261209000100MailOutboxQueuePosition', class: Migration20261209000100MailOutboxQueuePosition },
  { name: 'Migration20261210000100ApiKeyRetention', class: Migration20261210000100ApiKeyRetention },
  { name: 'Migration20261211000100MailOutboxLanes', class: Migration20261211000100MailOutboxLanes },
  { name: 'Migration20261211000200DeletedApiKeyHashes', class: Migration20261211000200DeletedApiKeyHashes },
  { name: 'Migration20261211000300EmailDomainsInOneForm', class: Migration20261211000300EmailDomainsInOneForm },
  { name: 'Migration20261212000100MailOutboxInbox', class: Migration20261212000100MailOutboxInbox },
];
