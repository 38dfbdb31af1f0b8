/** The URLs the rewriter tests share: an Ory Network project and an app behind localhost:4000. */
import { urlMapping } from "../../src/rewrite/url_map.ts";

export const publish = new URL("http://localhost:4000");
export const ory = new URL("https://x.projects.oryapis.com");
export const app = new URL("http://127.0.0.1:3000");
/** Ory moves under /.ory, the app onto the publish origin. */
export const mappings = [urlMapping(ory, publish, "/.ory"), urlMapping(app, publish)];
export const welcome = {
  href: "http://localhost:4000/.ory/ui/welcome",
  defaultRedirect: "http://localhost:4000/",
};
