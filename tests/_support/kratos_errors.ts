/**
 * Kratos v1.3.1's own error bodies, as its whoami writes them, for the stand-in and the tests
 * that pin orygate's answers to the same shape.
 */

/**
 * `session_aal2_required` (`session/manager.go` `NewErrAALNotSatisfied`, written by herodot):
 * 403, the step-up URL both in `error.details` and beside `error`.
 */
export function aal2RequiredBody(redirectBrowserTo: string) {
  return {
    error: {
      id: "session_aal2_required",
      code: 403,
      status: "Forbidden",
      reason:
        "An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.",
      details: { redirect_browser_to: redirectBrowserTo },
      message: "Session does not fulfill the requested Authenticator Assurance Level",
    },
    redirect_browser_to: redirectBrowserTo,
  };
}
