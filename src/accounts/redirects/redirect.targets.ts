import { Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { RedirectAllowList } from './redirect-allow-list';

/** The built-in dashboard's pages a mailed link can land on (client routes under `/dashboard/`). */
export type DashboardPage = 'home' | 'confirmed' | 'sign-in' | 'reset-password' | 'keys';

/** The longest `redirect_to` kept, as given and once normalised: the length of its column. */
export const REDIRECT_TO_MAX_LENGTH = 2048;

/** Where links in mails land: a checked `redirect_to`, or the dashboard. */
@Injectable()
export class RedirectTargets {
  private readonly allowList: RedirectAllowList;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    // The dashboard is always a valid landing place, listed or not.
    this.allowList = new RedirectAllowList([...config.http.redirectAllowList, new URL(config.http.dashboardUrl).origin]);
  }

  /** The `redirect_to` to remember (null: the dashboard), or 400 INVALID_REQUEST when it is not allowed. */
  check(redirectTo: string | undefined): string | null {
    if (redirectTo === undefined) return null;
    const url = this.allowList.match(redirectTo);
    if (!url) throw AppError.invalidRequest('Invalid request: redirect_to is not an allowed redirect URL');
    // Normalising percent-encodes what the field's own limit counted as one character each.
    const normalised = url.toString();
    if (normalised.length > REDIRECT_TO_MAX_LENGTH) {
      throw AppError.invalidRequest(`Invalid request: redirect_to is longer than ${REDIRECT_TO_MAX_LENGTH} characters once normalised`);
    }
    return normalised;
  }

  /**
   * The landing URL for a remembered `redirect_to`, with `params` added to its query. Without one,
   * the dashboard: the built-in one's `page`, or DASHBOARD_URL as it is (that dashboard routes by
   * the query parameters itself).
   */
  landing(redirectTo: string | null, page: DashboardPage, params: Record<string, string> = {}): string {
    const url = new URL(redirectTo ?? this.dashboardPage(page));
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.toString();
  }

  private dashboardPage(page: DashboardPage): string {
    const { dashboardUrl, dashboardBuiltIn } = this.config.http;
    return dashboardBuiltIn && page !== 'home' ? new URL(page, dashboardUrl).toString() : dashboardUrl;
  }

  /** The confirmation link sent by mail; it points at this service, which then redirects. */
  confirmationLink(token: string): string {
    const url = new URL(`${this.config.http.publicUrl}/auth/confirm`);
    url.searchParams.set('token', token);
    return url.toString();
  }
}
