// What a person has open, typed or focused in a fragment survives its replacement.
//
// live.js replaces a fragment whenever a push or a response brings a newer one: the
// phase head when a step is ticked, a step's card when its run prints. Without this,
// an incident commander writing the reason for "Advance" would see the form close
// and the words vanish under them the moment an engineer ticks a step.
//
// take(old, sender) reads the state before the swap: the open <details> (matched by
// their summary's text), the form fields whose value differs from the one the server
// sent (matched by their form's hx-post and their name), and the focused field with
// its selection. give(new, state) puts it back after the swap, where the new copy
// still has the same control; a control the server took away takes its state with it.
// The form whose own request brought the fragment (sender) keeps nothing: what was
// typed in it was sent, unless the answer says it was refused (an error in it).
(function () {
  "use strict";

  const FIELDS = "input[name]:not([type=hidden]), textarea[name], select[name]";

  function fieldKey(field) {
    return (field.form ? actionOf(field.form) : "") + "|" + field.name;
  }

  function detailsKey(details) {
    const summary = details.querySelector(":scope > summary");
    return summary ? summary.textContent.trim() : "";
  }

  // Each element under root by key, numbered in document order: "key#n".
  function index(root, selector, keyOf) {
    const seen = new Map();
    const out = new Map();
    for (const el of root.querySelectorAll(selector)) {
      const key = keyOf(el);
      const n = seen.get(key) || 0;
      seen.set(key, n + 1);
      out.set(key + "#" + n, el);
    }
    return out;
  }

  function changed(field) {
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") {
      return Array.from(field.options).some((o) => o.selected !== o.defaultSelected);
    }
    return field.value !== field.defaultValue;
  }

  function actionOf(el) {
    const form = el.closest("form") || el;
    return form.getAttribute("hx-post") || form.getAttribute("action") || "";
  }

  // sender: by its action, not itself (a push may have replaced it since it was sent).
  function take(root, sender) {
    const sent = sender ? actionOf(sender) : null;
    const fromSender = (el) => sent !== null && el.form !== null && el.form !== undefined && actionOf(el.form) === sent;
    const holdsSender = (details) =>
      sent !== null && Array.from(details.querySelectorAll("form")).some((f) => actionOf(f) === sent);
    const state = { open: [], values: [], focus: null };
    for (const [key, details] of index(root, "details", detailsKey)) {
      if (details.open && !holdsSender(details)) state.open.push(key);
    }
    const active = document.activeElement;
    for (const [key, field] of index(root, FIELDS, fieldKey)) {
      if (fromSender(field)) continue;
      const toggled = field.type === "checkbox" || field.type === "radio";
      if (changed(field)) state.values.push([key, field.type, toggled ? field.checked : field.value]);
      if (field === active) {
        let range = null;
        try {
          range = [field.selectionStart, field.selectionEnd];
        } catch (e) {
          range = null; // a field without a text selection (select, checkbox)
        }
        state.focus = [key, range];
      }
    }
    return state;
  }

  function give(root, state) {
    const details = index(root, "details", detailsKey);
    for (const key of state.open) {
      const d = details.get(key);
      if (d) d.open = true;
    }
    const fields = index(root, FIELDS, fieldKey);
    for (const [key, type, value] of state.values) {
      const field = fields.get(key);
      if (!field || field.type !== type) continue;
      if (type === "checkbox" || type === "radio") field.checked = value;
      else field.value = value;
    }
    if (state.focus) {
      const field = fields.get(state.focus[0]);
      if (field && !field.disabled) {
        field.focus({ preventScroll: true });
        const range = state.focus[1];
        if (range && range[0] !== null) {
          try {
            field.setSelectionRange(range[0], range[1]);
          } catch (e) {
            // the new copy takes no selection (its type changed): focus is enough
          }
        }
      }
    }
  }

  window.ripcordKeep = { take, give };
})();
