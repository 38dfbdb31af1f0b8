/**
 * Renders a Kratos self-service flow (`ui.nodes`) as plain HTML forms that post straight to
 * Kratos (`ui.action`, through orygate), the way Ory's reference UIs do.
 *
 * @module
 */

import { attributes, type Html, markup } from "./html.ts";
import type { Flow, UiNode, UiText } from "./ory.ts";

/**
 * One form per method group (`password`, `profile`, ...), each with the `default` group's nodes
 * (the CSRF token): a settings flow offers several methods that are submitted separately.
 */
export function renderFlow(flow: Flow): Html {
  const groups = [...new Set(flow.ui.nodes.map((n) => n.group))].filter((g) => g !== "default");
  const forms = (groups.length > 0 ? groups : ["default"]).map((group) => {
    const nodes = flow.ui.nodes.filter((n) => n.group === "default" || n.group === group);
    const form = attributes({
      action: flow.ui.action,
      method: flow.ui.method,
      "data-testid": `flow-form-${group}`,
    });
    return markup`<form${form}>
${nodes.map(renderNode)}</form>
`;
  });
  return markup`${renderMessages(flow.ui.messages, "flow-message")}${forms}`;
}

/** Kratos messages (`ui.messages` or a node's `messages`), with their ids for tests. */
export function renderMessages(messages: UiText[] | undefined, testId: string): Html {
  return markup`${
    (messages ?? []).map((m) =>
      markup`<p${
        attributes({ class: `message ${m.type}`, "data-testid": testId, "data-message-id": m.id })
      }>${m.text}</p>
`
    )
  }`;
}

/** A readable line from a Kratos JSON error body (`{ error: { message, reason } }`). */
export function errorMessage(body: unknown): string {
  const error = (body as { error?: { message?: string; reason?: string } } | null)?.error;
  return [error?.message, error?.reason].filter(Boolean).join(" — ") || "Unknown error";
}

function renderNode(node: UiNode): Html {
  const a = node.attributes;
  const label = node.meta.label?.text ?? a.name ?? "";
  const messages = renderMessages(node.messages, "field-message");
  switch (node.type) {
    case "input":
      return renderInput(node, label, messages);
    case "text":
      // E.g. the TOTP secret, labelled "Use it if you can not scan the QR code".
      return markup`${
        node.meta.label
          ? markup`<p>${node.meta.label.text}</p>
`
          : markup``
      }<p><code data-testid="text-${a.id}">${a.text?.text}</code></p>
${messages}`;
    case "a":
      return markup`<p><a${
        attributes({ href: a.href, "data-testid": `link-${a.id}` })
      }>${label}</a></p>
`;
    case "img":
      return markup`<p><img${attributes({ src: a.src, alt: label })}></p>
`;
    default:
      return markup``; // `script` nodes (WebAuthn) are not used by this example.
  }
}

function renderInput(node: UiNode, label: string, messages: Html): Html {
  const a = node.attributes;
  const value = typeof a.value === "string" || typeof a.value === "number" ? a.value : undefined;
  switch (a.type) {
    case "hidden":
      return markup`<input${attributes({ type: "hidden", name: a.name, value })}>
`;
    case "submit":
    case "button": {
      const button = attributes({
        type: "submit",
        name: a.name,
        value,
        disabled: a.disabled,
        // `method` buttons submit the group; others (such as "Resend code", named `email`) get
        // their name added so that every button of a form has its own id.
        "data-testid": a.name === "method"
          ? `submit-${node.group}`
          : `submit-${node.group}-${a.name}`,
      });
      return markup`<button${button}>${label}</button>
`;
    }
    case "checkbox": {
      const box = attributes({
        type: "checkbox",
        name: a.name,
        value: "true",
        checked: a.value === true,
        disabled: a.disabled,
        "data-testid": `input-${a.name}`,
      });
      return markup`<label><input${box}> ${label}</label>
${messages}`;
    }
    default: {
      const input = attributes({
        type: a.type ?? "text",
        name: a.name,
        id: `input-${a.name}`,
        value,
        autocomplete: a.autocomplete,
        required: a.required,
        disabled: a.disabled,
        "data-testid": `input-${a.name}`,
      });
      return markup`<label>${label}
  <input${input}>
</label>
${messages}`;
    }
  }
}
