// Keyboard shortcuts. "?" lists the ones this page offers; none fires while typing in a
// field, or with Ctrl, Alt or Meta held (the browser's own shortcuts stay the browser's).
(function () {
  "use strict";
  const $ = (selector) => document.querySelector(selector);
  const steps = () => Array.from(document.querySelectorAll("article.step")).filter((el) => el.offsetParent !== null);
  let focused = -1;

  function moveStep(by) {
    const list = steps();
    if (!list.length) return;
    const current = list.findIndex((el) => el.classList.contains("kbd-focus"));
    focused = Math.max(0, Math.min(list.length - 1, (current < 0 ? focused : current) + by));
    list.forEach((el) => el.classList.remove("kbd-focus"));
    const step = list[focused];
    step.classList.add("kbd-focus");
    step.setAttribute("tabindex", "-1");
    step.focus({ preventScroll: true });
    step.scrollIntoView({ block: "nearest" });
  }

  function go(path) {
    const link = document.querySelector(`a[href="${path}"]`);
    if (link) location.assign(link.href);
  }

  // keys, what it does, when it is offered, the action
  const shortcuts = [
    ["?", "Show or hide this list", () => true, () => toggleHelp()],
    ["g i", "Go to the incident list", () => true, () => go("/")],
    ["g r", "Go to the runbooks", () => true, () => go("/runbooks/")],
    ["/", "Search incidents", () => $("#incident-search"), () => $("#incident-search").focus()],
    ["j", "Next step", () => document.querySelector("article.step"), () => moveStep(1)],
    ["k", "Previous step", () => document.querySelector("article.step"), () => moveStep(-1)],
    ["n", "Write a note", () => $(".note-form textarea"), () => $(".note-form textarea").focus()],
    ["m", "Show only my steps, or all", () => $("#mine-toggle"), () => $("#mine-toggle").click()],
    ["t", "Go to the timeline", () => $(".timeline-panel"), () => $(".timeline-panel").scrollIntoView()],
    ["w", "Go to the “now” header", () => $(".now-panel"), () => $(".now-panel").scrollIntoView()],
  ];

  let dialog = null;
  function helpDialog() {
    dialog = document.createElement("dialog");
    dialog.className = "shortcuts-help";
    dialog.id = "shortcuts-help";
    dialog.setAttribute("aria-labelledby", "shortcuts-title");
    const title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    const table = document.createElement("table");
    for (const [keys, what, offered] of shortcuts) {
      if (!offered()) continue;
      const row = table.insertRow();
      const keyCell = row.insertCell();
      keys.split(" ").forEach((key, i) => {
        if (i) keyCell.append(" then ");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        keyCell.append(kbd);
      });
      row.insertCell().textContent = what;
    }
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    dialog.append(title, table, close);
    document.body.append(dialog);
    return dialog;
  }

  function toggleHelp() {
    if (dialog && dialog.open) {
      dialog.close();
      return;
    }
    if (dialog) dialog.remove(); // rebuilt: what the page offers may have changed
    helpDialog().showModal();
  }

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  let prefix = "";
  let prefixTimer = 0;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (dialog && dialog.open && event.key !== "?") return; // Esc closes it (the dialog's own)
    const key = prefix ? `${prefix} ${event.key}` : event.key;
    const found = shortcuts.find(([keys, , offered]) => keys === key && offered());
    clearTimeout(prefixTimer);
    prefix = "";
    if (found) {
      event.preventDefault();
      found[3]();
    } else if (shortcuts.some(([keys]) => keys.startsWith(event.key + " "))) {
      prefix = event.key;
      prefixTimer = setTimeout(() => (prefix = ""), 1500);
    }
  });
})();
