/** Placeholder until MailModule lands: the agreed message union. */
export type MailMessage =
  | { template: 'confirm-email'; to: string; link: string }
  | { template: 'already-registered'; to: string; login_link: string; reset_link: string }
  | { template: 'password-reset'; to: string; link: string };
