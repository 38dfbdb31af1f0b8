/**
 * Opens a URL in the user's browser with the platform's own opener.
 *
 * @example
 * ```ts ignore
 * import { openBrowser } from "./open_browser.ts";
 * await openBrowser("http://localhost:4000");
 * ```
 */

/** The opener command for an OS, as `[command, ...args]` before the URL. */
export function openerFor(os: typeof Deno.build.os): string[] {
  switch (os) {
    case "darwin":
      return ["open"];
    case "windows":
      return ["cmd", "/c", "start", '""'];
    default:
      return ["xdg-open"];
  }
}

/** Returns true when the opener started and exited successfully. */
export async function openBrowser(url: string, os = Deno.build.os): Promise<boolean> {
  const [cmd, ...args] = openerFor(os);
  try {
    const { success } = await new Deno.Command(cmd, {
      args: [...args, url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
