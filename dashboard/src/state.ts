/** The address typed on the last form, so "check your email" and "send a new link" need no retyping. Memory only. */
export const remembered = { email: '' };
