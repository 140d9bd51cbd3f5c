// tessera's web UI: the few behaviours the server-rendered pages need. Plain JavaScript, no
// libraries. Every request to the server goes through `api()`, which sends Zulip's
// form-encoded parameters and the CSRF token; regenerating your own key uses HTTP Basic with
// the key just revealed, exactly as Zulip's web app does.
"use strict";

(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrfToken = () => {
    const meta = $('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // One call to the server. `params` are form-encoded (Zulip's wire); `basic` is
  // [email, key] for /api/v1 calls. Resolves to the parsed JSON body; rejects with an Error
  // whose message is Zulip's `msg`.
  async function api(method, path, params, basic) {
    const headers = { "X-Requested-With": "XMLHttpRequest" };
    const init = { method, headers, credentials: "same-origin" };
    if (basic) {
      headers.Authorization = "Basic " + btoa(basic[0] + ":" + basic[1]);
      init.credentials = "omit";
    } else {
      headers["X-CSRFToken"] = csrfToken();
    }
    if (params && Object.keys(params).length) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = new URLSearchParams(params).toString();
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new Error("Could not reach the server.");
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok || !data || data.result !== "success") {
      const err = new Error((data && data.msg) || "Request failed (" + resp.status + ")");
      // 401 on a session call: the session ended. On a key call: the key no longer works.
      if (resp.status === 401) {
        if (basic) err.keyInvalid = true;
        else err.sessionEnded = true;
      }
      throw err;
    }
    return data;
  }

  // A status line: errors always look like errors, and a session that ended says so, with a
  // link to log in again, instead of the server's raw message.
  function report(el, text, kind) {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("is-error", kind === "error");
    el.classList.toggle("is-success", kind !== "error");
    el.hidden = false;
    clearTimeout(el._flash);
    if (kind !== "error") {
      el._flash = setTimeout(() => {
        el.textContent = "";
      }, 4000);
    }
  }
  function reportError(el, e, prefix) {
    if (!el) return;
    clearTimeout(el._flash);
    el.classList.add("is-error");
    el.classList.remove("is-success");
    el.hidden = false;
    if (e && e.sessionEnded) {
      el.textContent = "Your session has ended. ";
      const link = document.createElement("a");
      link.href = "/login/?next=" + encodeURIComponent(location.pathname);
      link.textContent = "Log in again";
      link.className = "session-ended-link";
      el.append(link);
      el.append(".");
      return;
    }
    el.textContent = (prefix || "") + (e && e.message ? e.message : String(e));
  }
  // A button that sends one request at a time: a second click while one is in flight does
  // nothing.
  async function once(button, work) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await work();
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
  const ENTER_PASSWORD = "Please enter your password.";

  function zuliprc(email, key, site) {
    return "[api]\nemail=" + email + "\nkey=" + key + "\nsite=" + site + "\n";
  }

  function zuliprcHref(text) {
    // octet-stream: with text/plain Chrome would save the file as "zuliprc.txt".
    return URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  function show(el, text) {
    if (!el) return;
    if (text !== undefined) el.textContent = text;
    el.hidden = false;
  }
  function hide(el) {
    if (el) el.hidden = true;
  }

  // ---- dialogs and password fields ------------------------------------------------------
  function openDialog(dialog) {
    if (!dialog) return;
    dialog.dispatchEvent(new CustomEvent("tessera:open"));
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    // The first field, not the close button that comes first in the markup.
    const first =
      $("[autofocus]", dialog) ||
      $("input:not([type=hidden]):not([disabled]):not([readonly]), select, textarea", dialog) ||
      $(".modal-foot button", dialog) ||
      $("button", dialog);
    if (first && !dialog._keepFocus) first.focus();
  }
  function closeDialog(dialog) {
    if (!dialog) return;
    if (typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
  }

  $$("[data-open]").forEach((btn) =>
    btn.addEventListener("click", () => openDialog(document.getElementById(btn.dataset.open)))
  );
  $$("dialog .dialog_close, dialog .dialog_cancel").forEach((btn) =>
    btn.addEventListener("click", () => closeDialog(btn.closest("dialog")))
  );
  $$(".password_visibility_toggle").forEach((btn) =>
    btn.addEventListener("click", () => {
      const input = document.getElementById(btn.dataset.target);
      if (!input) return;
      const showing = input.type === "text";
      input.type = showing ? "password" : "text";
      btn.textContent = showing ? "Show" : "Hide";
      btn.setAttribute("aria-label", showing ? "Show password" : "Hide password");
      btn.setAttribute("aria-pressed", showing ? "false" : "true");
    })
  );

  // ---- password strength: the meter under a new-password field ---------------------------
  // The server judges by the rule it enforces (zxcvbn guesses and length), so the meter and
  // the answer to the form never disagree.
  $$("input[data-strength]").forEach((input) => {
    const id = input.dataset.strength;
    const fill = document.getElementById(id + "_strength");
    const hint = document.getElementById(id + "_hint");
    const rule = hint.textContent;
    let timer = null;
    let asked = 0;
    const judge = async () => {
      const mine = ++asked;
      if (!input.value) {
        fill.style.width = "0";
        fill.className = "strength-fill";
        hint.textContent = rule;
        return;
      }
      try {
        const resp = await fetch("/accounts/password/strength", {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ password: input.value }).toString(),
          credentials: "omit",
        });
        const data = await resp.json();
        if (mine !== asked || !resp.ok || data.result !== "success") return;
        fill.style.width = Math.round(data.strength * 100) + "%";
        fill.className = "strength-fill " + (data.acceptable ? "is-strong" : "is-weak");
        hint.textContent = (data.acceptable ? "Strong enough. " : "Password is too weak. ") + data.rule;
      } catch (e) {
        /* the server decides on submit anyway */
      }
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(judge, 150);
    });
  });

  const settings = $(".settings");
  // A notice kept across a reload, shown next to the action it is about.
  const notice = sessionStorage.getItem("tessera-notice");
  if (notice) {
    let target = "#account_settings_status";
    let text = notice;
    try {
      const parsed = JSON.parse(notice);
      target = parsed.target;
      text = parsed.text;
    } catch (e) {
      /* a plain text notice */
    }
    if ($(target)) {
      sessionStorage.removeItem("tessera-notice");
      $(target).textContent = text;
      $(target).classList.add("is-success");
    }
  }
  const keepNotice = (target, text) =>
    sessionStorage.setItem("tessera-notice", JSON.stringify({ target, text }));
  const realmUrl = settings ? settings.dataset.realmUrl : location.origin;

  // ---- Account & privacy → API key ------------------------------------------------------
  const keyModal = $("#api_key_modal");
  if (keyModal) {
    let email = settings.dataset.userEmail;
    let key = "";
    const form = $("#get_api_key_form");
    const status = $("#api_key_status");
    const password = $("#get_api_key_password");
    const shown = $("#show_api_key");
    const value = $("#api_key_value");
    const download = $("#download_zuliprc");
    const error = $("#user_api_key_error");
    const confirmBox = $("#regenerate_api_key_confirm");
    const regenerated = $("#api_key_regenerated");
    const changed = $("#api_key_changed");
    const title = $("#api_key_modal_label");
    const regenerate = $("#regenerate_api_key");

    // Whether the key this page shows still works (another tab, an app or "Log out
    // everywhere" may have replaced it). When it does not, say so and offer a reload.
    const stillValid = async () => {
      if (!key) return false;
      try {
        await api("GET", "/api/v1/users/me", null, [email, key]);
        return true;
      } catch (e) {
        if (!e.keyInvalid) return true;
        value.textContent = "";
        key = "";
        hide(confirmBox);
        $("#api_key_buttons").hidden = true;
        show(changed);
        $("#api_key_reload").focus();
        return false;
      }
    };
    $("#api_key_reload").addEventListener("click", () => location.reload());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && keyModal.open && key) stillValid();
    });

    const display = () => {
      value.textContent = key;
      if (download.href.startsWith("blob:")) URL.revokeObjectURL(download.href);
      download.href = zuliprcHref(zuliprc(email, key, realmUrl));
    };

    keyModal.addEventListener("tessera:open", () => {
      key = "";
      password.value = "";
      hide(status);
      hide(shown);
      hide(confirmBox);
      hide(error);
      hide(changed);
      regenerated.textContent = "";
      regenerate.hidden = false;
      $("#api_key_buttons").hidden = false;
      title.textContent = "Show API key";
      $("#password_confirmation").hidden = false;
    });
    keyModal.addEventListener("close", () => {
      key = "";
      value.textContent = "";
    });

    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      hide(status);
      if (!password.value) {
        reportError(status, new Error(ENTER_PASSWORD));
        password.focus();
        return;
      }
      return once($("#get_api_key_button"), async () => {
        try {
          const data = await api("POST", "/json/fetch_api_key", { password: password.value });
          key = data.api_key;
          email = data.email;
          password.value = "";
          $("#password_confirmation").hidden = true;
          title.textContent = "Your API key";
          display();
          show(shown);
          $("#copy_api_key").focus();
        } catch (e) {
          reportError(status, e, "Error: ");
          password.focus();
        }
      });
    });

    const copyButton = $("#copy_api_key");
    let copiedTimer = null;
    // The copy icon turns into a check mark for a moment.
    // SVG elements have no `hidden` property: set the attribute.
    const showCopied = (copied) => {
      $(".icon-copy", copyButton).toggleAttribute("hidden", copied);
      $(".icon-check", copyButton).toggleAttribute("hidden", !copied);
      $(".label", copyButton).textContent = copied ? "Copied!" : "Copy";
    };
    copyButton.addEventListener("click", () =>
      once(copyButton, async () => {
        hide(error);
        // A click while an earlier "Copied!" still shows starts afresh: the check mark
        // below is always this click's.
        clearTimeout(copiedTimer);
        showCopied(false);
        if (!(await stillValid())) return;
        try {
          await copyText(key);
          showCopied(true);
          copiedTimer = setTimeout(() => showCopied(false), 2000);
        } catch (e) {
          reportError(error, e, "Could not copy: ");
        }
      })
    );

    // One "Generate new API key" button at a time: the confirmation replaces the first.
    regenerate.addEventListener("click", () => {
      regenerated.textContent = "";
      regenerate.hidden = true;
      show(confirmBox);
      $("#regenerate_api_key_cancel").focus();
    });
    $("#regenerate_api_key_cancel").addEventListener("click", () => {
      hide(confirmBox);
      regenerate.hidden = false;
      regenerate.focus();
    });
    const regenerateDo = $("#regenerate_api_key_do");
    regenerateDo.addEventListener("click", () =>
      once(regenerateDo, async () => {
        hide(error);
        try {
          const data = await api("POST", "/api/v1/users/me/api_key/regenerate", null, [email, key]);
          key = data.api_key;
          display();
          hide(confirmBox);
          regenerate.hidden = false;
          report(regenerated, "A new API key was generated.");
          $("#copy_api_key").focus();
        } catch (e) {
          // The key was replaced elsewhere: say so (stillValid shows it); else the error.
          if (e.keyInvalid && !(await stillValid())) return;
          reportError(error, e);
        }
      })
    );
  }

  // ---- Account & privacy → password -----------------------------------------------------
  const pwForm = $("#change_password_container");
  if (pwForm) {
    const status = $("#change_password_status");
    $("#change_password_modal").addEventListener("tessera:open", () => {
      pwForm.reset();
      hide(status);
      $("#new_password").dispatchEvent(new Event("input"));
    });
    pwForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const oldPw = $("#old_password").value;
      const newPw = $("#new_password").value;
      if (!oldPw) return reportError(status, new Error(ENTER_PASSWORD));
      if (!newPw) return reportError(status, new Error("Please choose a new password."));
      return once($("#change_password_submit"), () => changePassword(oldPw, newPw));
    });
    const changePassword = async (oldPw, newPw) => {
      try {
        await api("PATCH", "/json/settings", {
          old_password: oldPw,
          new_password: newPw,
          regenerate_api_key: JSON.stringify($("#change_password_regenerate").checked),
        });
        closeDialog($("#change_password_modal"));
        if ($("#change_password_regenerate").checked) {
          // The key, devices and other sessions changed: show the page as it is now.
          keepNotice("#account_settings_status", "Your password has been changed and a new API key was generated.");
          location.reload();
          return;
        }
        report($("#account_settings_status"), "Your password has been changed.");
      } catch (e) {
        reportError(status, e);
      }
    };
  }

  // ---- Account & privacy → devices ----------------------------------------------------
  const devices = $("#devices_section");
  if (devices) {
    const status = $("#devices_status");
    $$(".sign_out_app").forEach((btn) =>
      btn.addEventListener("click", () =>
        once(btn, async () => {
          const row = btn.closest("li");
          try {
            await api("DELETE", "/json/users/me/api_keys/" + row.dataset.keyId);
            // The app's push registrations went with its key.
            const removeRow = (li, emptyId, emptyText) => {
              const list = li.parentElement;
              li.remove();
              if (list.children.length) return;
              const empty = document.createElement("p");
              empty.className = "empty";
              empty.id = emptyId;
              empty.textContent = emptyText;
              list.replaceWith(empty);
            };
            $$('#mobile_devices li.mobile_device[data-key-id="' + row.dataset.keyId + '"]').forEach((li) =>
              removeRow(li, "no_mobile_devices", "No mobile devices are registered for notifications.")
            );
            removeRow(row, "no_signed_in_apps", "No app is signed in with a key of its own.");
            const gone = own ? await own.prune() : [];
            report(
              status,
              row.dataset.app + " has been signed out: its key no longer works and its notifications stopped." + alsoRevoked(gone)
            );
          } catch (e) {
            reportError(status, e, "Failed: ");
          }
        })
      )
    );
    $$(".sign_out_session").forEach((btn) =>
      btn.addEventListener("click", async () => {
        const row = btn.closest("li");
        try {
          await api("DELETE", "/json/users/me/sessions/" + row.dataset.sessionId);
          row.remove();
          report(status, "That session has been signed out.");
        } catch (e) {
          reportError(status, e, "Failed: ");
        }
      })
    );
    const confirmBox = $("#logout_everywhere_confirm");
    const error = $("#logout_everywhere_error");
    $("#logout_everywhere_button").addEventListener("click", () => {
      show(confirmBox);
      hide(error);
      $("#logout_everywhere_cancel").focus();
    });
    $("#logout_everywhere_cancel").addEventListener("click", () => {
      hide(confirmBox);
      $("#logout_everywhere_password").value = "";
      $("#logout_everywhere_button").focus();
    });
    // A form, so Enter in the password box submits it.
    confirmBox.addEventListener("submit", (ev) => {
      ev.preventDefault();
      hide(error);
      const password = $("#logout_everywhere_password");
      if (!password.value) {
        reportError(error, new Error(ENTER_PASSWORD));
        password.focus();
        return;
      }
      return once($("#logout_everywhere_do"), async () => {
        try {
          await api("POST", "/json/users/me/logout_everywhere", { password: password.value });
          keepNotice(
            "#devices_status",
            "Logged out everywhere: a new API key was generated, push registrations were removed and every other browser was signed out."
          );
          location.reload();
        } catch (e) {
          reportError(error, e, "Error: ");
          password.focus();
        }
      });
    });
    $("#enable_login_emails").addEventListener("change", async (ev) => {
      try {
        await api("PATCH", "/json/settings", { enable_login_emails: JSON.stringify(ev.target.checked) });
        report(status, ev.target.checked ? "New-login emails are on." : "New-login emails are off.");
      } catch (e) {
        reportError(status, e, "Failed: ");
        ev.target.checked = !ev.target.checked;
      }
    });
  }

  // ---- API keys beside the account key (named keys) ----------------------------------------
  // A key's scope in words, as the server's page says it.
  const scopeWords = (scope) => {
    if (scope === "full") return "Full access";
    if (scope === "read") return "Read only";
    if (scope === "send") return "Send only";
    const words = (Array.isArray(scope) ? scope : [scope]).join(", ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  };
  const when = (secs) => new Date(secs * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  const keysPath = (owner) =>
    owner === "me" ? "/json/users/me/api_keys" : "/json/bots/" + owner + "/api_keys";

  // The keys of one owner (a section with data-owner: "me" or a bot's id): revoking one asks
  // in the section first; a bot's list is drawn here from the API.
  function namedKeys(section) {
    const status = $(".status", section);
    const confirmBox = $(".revoke_named_key_confirm", section);
    // Kept on the section: the modal's section is set up again for each bot.
    const revoking = (row) => {
      if (row !== undefined) section._revoking = row;
      return section._revoking || null;
    };
    const owner = () => section.dataset.owner;
    const emptyNote = () => $("#no_named_keys", section) || $("#no_bot_named_keys", section);
    const rows = () => $$(".named_key", section);
    const afterRemoval = () => {
      if (rows().length) return;
      const table = $(".table-wrap", section);
      if (table) table.hidden = true;
      show(emptyNote());
    };
    const askRevoke = (row) => {
      revoking(row);
      hide(status);
      $(".revoke_named_key_warning", section).textContent =
        row.dataset.keyKind === "previous"
          ? "Stop the previous key now? Anything still using it is refused at once."
          : "Revoke the key \u201c" + row.dataset.keyName + "\u201d? Anything using it is refused at once; other keys keep working.";
      show(confirmBox);
      $(".revoke_named_key_cancel", section).focus();
    };
    const bind = (row) => $(".revoke_named_key", row).addEventListener("click", () => askRevoke(row));
    if (!section._bound) {
      section._bound = true;
      $(".revoke_named_key_cancel", section).addEventListener("click", () => {
        hide(confirmBox);
        const row = revoking();
        if (row && row.isConnected) $(".revoke_named_key", row).focus();
        revoking(null);
      });
      const doButton = $(".revoke_named_key_do", section);
      doButton.addEventListener("click", () =>
        once(doButton, async () => {
          const row = revoking();
          if (!row) return;
          try {
            await api("DELETE", keysPath(owner()) + "/" + row.dataset.keyId);
            hide(confirmBox);
            row.remove();
            revoking(null);
            afterRemoval();
            const gone = await prune();
            report(status, "The key \u201c" + row.dataset.keyName + "\u201d was revoked." + alsoRevoked(gone));
            $(".open_create_key", section).focus();
          } catch (e) {
            hide(confirmBox);
            reportError(status, e, "Failed: ");
          }
        })
      );
      rows().forEach(bind);
    }
    // Keys made with a revoked key (or a signed-out app's) are revoked with it: drop the
    // rows of keys the server no longer lists; their names, for the message.
    const prune = async () => {
      try {
        const data = await api("GET", keysPath(owner()));
        const live = new Set(data.api_keys.map((k) => String(k.id)));
        const gone = rows().filter((row) => !live.has(row.dataset.keyId));
        gone.forEach((row) => row.remove());
        if (gone.length) afterRemoval();
        return gone.map((row) => row.dataset.keyName);
      } catch (e) {
        return [];
      }
    };
    // A bot's keys, drawn from the API. Only the newest request draws: opening another bot
    // meanwhile must not show the first one's keys under the second.
    const refresh = async () => {
      const list = $("#bot_named_keys", section);
      if (!list) return;
      const mine = (section._drawing = (section._drawing || 0) + 1);
      list.textContent = "";
      hide(emptyNote());
      hide(confirmBox);
      status.textContent = "";
      try {
        const data = await api("GET", keysPath(owner()));
        if (mine !== section._drawing) return;
        for (const k of data.api_keys) {
          const li = document.createElement("li");
          li.className = "device key-item named_key";
          li.dataset.keyId = k.id;
          li.dataset.keyName = k.kind === "previous" ? "previous key" : k.name;
          li.dataset.keyKind = k.kind;
          const text = document.createElement("span");
          text.className = "key-item-text";
          const name = document.createElement("strong");
          name.textContent = k.kind === "previous" ? "Previous API key" : k.name;
          const detail = document.createElement("span");
          detail.className = "small";
          const parts = [];
          if (k.kind === "previous") {
            parts.push("works until " + when(k.expires) + " or until the new key is first used");
          } else {
            parts.push(scopeWords(k.scope));
            parts.push(k.expires ? "expires " + when(k.expires) : "never expires");
            if (k.allowed_networks) parts.push("only from " + k.allowed_networks.join(", "));
          }
          if (k.last_used) {
            const u = k.last_used;
            parts.push("last used " + when(u.timestamp) + " by " + u.client + (u.ip ? " from " + u.ip : ""));
          } else if (k.kind !== "previous") {
            parts.push("never used");
          }
          detail.textContent = " " + parts.join(" · ");
          text.append(name, detail);
          const btn = document.createElement("button");
          btn.type = "button";
          btn.className = "button danger revoke_named_key";
          btn.textContent = k.kind === "previous" ? "Stop now" : "Revoke";
          btn.setAttribute("aria-label", (k.kind === "previous" ? "Stop the previous key" : "Revoke the key " + k.name));
          li.append(text, btn);
          list.append(li);
          bind(li);
        }
        if (!data.api_keys.length) show(emptyNote());
      } catch (e) {
        reportError(status, e, "Failed: ");
      }
    };
    return { refresh, prune };
  }
  const ownKeys = $("#named_keys_section");
  const own = ownKeys ? namedKeys(ownKeys) : null;
  // The sentence naming keys that went with the one revoked.
  const alsoRevoked = (names) =>
    names.length
      ? " Keys made with it were revoked too: " + names.map((n) => "\u201c" + n + "\u201d").join(", ") + "."
      : "";

  const createModal = $("#create_key_modal");
  if (createModal) {
    const form = $("#create_key_form");
    const error = $("#create_key_error");
    const created = $("#created_key");
    const expiry = $("#create_key_expiry");
    const date = $("#create_key_expiry_date");
    const maxDays = parseInt((settings && settings.dataset.maxKeyDays) || "", 10) || null;
    let section = null;
    let newKey = "";
    const day = 86400;
    const isoDate = (ms) => new Date(ms).toISOString().slice(0, 10);
    // The organization's longest lifetime: longer presets and "Never" are not offered.
    if (maxDays) {
      $$("option", expiry).forEach((o) => {
        if (o.value === "never" || (+o.value && +o.value > maxDays)) o.remove();
      });
      if (![...expiry.options].some((o) => o.selected && o.value !== "date")) {
        const fits = [...expiry.options].filter((o) => +o.value).pop();
        if (fits) fits.selected = true;
      }
      $("#create_key_expiry_hint").textContent =
        "This organization's keys expire within " + maxDays + " days. You will get an email a week before.";
    }
    const syncExpiry = () => {
      date.hidden = expiry.value !== "date";
      if (!date.hidden && !date.value) date.value = isoDate(Date.now() + 30 * day * 1000);
    };
    expiry.addEventListener("change", () => {
      syncExpiry();
      if (!date.hidden) date.focus();
    });
    $$("input[name=create_key_scope]", form).forEach((r) =>
      r.addEventListener("change", () => ($("#create_key_groups").hidden = $("input[name=create_key_scope]:checked", form).value !== "groups"))
    );
    $$(".open_create_key").forEach((btn) =>
      btn.addEventListener("click", () => {
        section = btn.closest("[data-owner]");
        const forBot = section.dataset.owner !== "me";
        $("#create_key_for").textContent = forBot
          ? "For the bot " + section.dataset.name + " (" + section.dataset.email + ")."
          : "For your account (" + settings.dataset.userEmail + ").";
        if (forBot) closeDialog($("#manage_bot_modal"));
        openDialog(createModal);
      })
    );
    createModal.addEventListener("tessera:open", () => {
      form.reset();
      newKey = "";
      hide(error);
      hide(created);
      form.hidden = false;
      $("#create_key_label").textContent = "Create an API key";
      $("#create_key_groups").hidden = true;
      date.min = isoDate(Date.now() + day * 1000);
      date.max = maxDays ? isoDate(Date.now() + maxDays * day * 1000) : "";
      if (maxDays && !$("option[value='" + expiry.value + "']", expiry)) expiry.selectedIndex = 0;
      syncExpiry();
    });
    const expiresAt = () => {
      const now = Math.floor(Date.now() / 1000);
      if (expiry.value === "never") return null;
      if (expiry.value === "date") {
        if (!date.value) throw new Error("Please choose the date the key expires.");
        // The end of that day (UTC), within the organization's longest lifetime.
        let at = Math.floor(Date.parse(date.value + "T23:59:59Z") / 1000);
        if (!(at > now)) throw new Error("The expiry must be in the future.");
        if (maxDays) at = Math.min(at, now + maxDays * day);
        return at;
      }
      return now + parseInt(expiry.value, 10) * day;
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      hide(error);
      const name = $("#create_key_name").value.trim();
      const password = $("#create_key_password");
      const params = { name };
      try {
        if (!name) throw Object.assign(new Error("Please give the key a name."), { field: "#create_key_name" });
        const scope = $("input[name=create_key_scope]:checked", form).value;
        if (scope === "groups") {
          const groups = $$("input[name=create_key_group]:checked", form).map((c) => c.value);
          if (!groups.length) throw new Error("Please choose at least one thing the key may do.");
          params.scope = JSON.stringify(groups);
        } else {
          params.scope = JSON.stringify(scope);
        }
        const at = expiresAt();
        if (at !== null) params.expires = String(at);
        const networks = $("#create_key_networks").value.trim();
        if (networks) params.allowed_networks = networks;
        if (!password.value) throw Object.assign(new Error(ENTER_PASSWORD), { field: "#create_key_password" });
        params.password = password.value;
      } catch (e) {
        reportError(error, e);
        $(e.field || "#create_key_name").focus();
        return;
      }
      return once($("#create_key_submit"), async () => {
        try {
          const data = await api("POST", keysPath(section.dataset.owner), params);
          newKey = data.api_key;
          password.value = "";
          form.hidden = true;
          $("#create_key_label").textContent = "Your new API key";
          $("#created_key_value").textContent = newKey;
          const k = data.key;
          $("#created_key_summary").textContent =
            "\u201c" + k.name + "\u201d · " + scopeWords(k.scope) + " · " +
            (k.expires ? "expires " + when(k.expires) : "never expires") +
            (k.allowed_networks ? " · only from " + k.allowed_networks.join(", ") : "");
          const email = section.dataset.owner === "me" ? settings.dataset.userEmail : section.dataset.email;
          const link = $("#download_created_zuliprc");
          if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
          link.href = zuliprcHref(zuliprc(email, newKey, realmUrl));
          $("#created_key_status").textContent = "";
          show(created);
          $("#copy_created_key").focus();
        } catch (e) {
          reportError(error, e, "Error: ");
          if (e.message === "Password is incorrect.") password.focus();
        }
      });
    });
    $("#copy_created_key").addEventListener("click", async () => {
      try {
        await copyText(newKey);
        report($("#created_key_status"), "Copied!");
      } catch (e) {
        reportError($("#created_key_status"), e, "Could not copy: ");
      }
    });
    const finish = () => {
      const wasCreated = !!newKey;
      newKey = "";
      $("#created_key_value").textContent = "";
      if (!section) return;
      if (section.dataset.owner !== "me") {
        // Back to the bot the key was (or was not) made for.
        const row = $$(".bot_row").find((r) => r.dataset.botId === section.dataset.owner);
        if (row) $(".open_edit_bot_form", row).click();
        return;
      }
      if (!wasCreated) return;
      keepNotice("#named_keys_status", "The key was created. It is listed below; the key itself is not shown again.");
      location.reload();
    };
    $("#created_key_done").addEventListener("click", () => closeDialog(createModal));
    createModal.addEventListener("close", finish);
  }

  // ---- Organization → API keys (the policy) -------------------------------------------------
  const policyForm = $("#key_policy_form");
  if (policyForm) {
    const status = $("#key_policy_status");
    policyForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      return once($("#key_policy_save"), async () => {
        try {
          await api("PATCH", "/json/realm", {
            api_key_per_login: JSON.stringify($("#api_key_per_login").checked),
            max_api_key_lifetime_days: $("#max_api_key_lifetime_days").value,
          });
          report(status, "Saved.");
        } catch (e) {
          reportError(status, e, "Failed: ");
        }
      });
    });
  }

  // ---- Bots -----------------------------------------------------------------------------
  const botForm = $("#create_bot_form");
  if (botForm) {
    const type = $("#create_bot_type");
    const payload = $("#payload_url_inputbox");
    const error = $("#create_bot_error");
    const syncType = () => (payload.hidden = type.value !== "3");
    type.addEventListener("change", syncType);
    syncType();
    const nameInput = $("#create_bot_name");
    const shortInput = $("#create_bot_short_name");
    const fieldError = (input, text) => {
      const el = document.getElementById(input.id + "_error");
      if (text) {
        el.textContent = text;
        el.hidden = false;
        input.setAttribute("aria-invalid", "true");
      } else {
        el.textContent = "";
        el.hidden = true;
        input.removeAttribute("aria-invalid");
      }
    };
    const clearFieldErrors = () => {
      fieldError(nameInput);
      fieldError(shortInput);
    };
    // Zulip's rules for a name (`check_full_name`), in Zulip's words.
    const nameProblem = (raw) => {
      const name = raw.trim();
      const length = Array.from(name).length;
      if (length > 100) return "Name too long!";
      if (length < 2) return "Name too short!";
      if (/[*`\\>"@\u0000-\u001f\u007f-\u009f]/.test(name)) return "Invalid characters in name!";
      if (/\|\d+$/.test(name)) return "Invalid format!";
      return "";
    };
    const shortNameProblem = (raw) => {
      const short = raw.trim();
      if (!short) return "Please choose the bot's email (the part before -bot@).";
      // Zulip's client-side check (adapted from Django's EmailValidator).
      if (!/^[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*$/i.test(short)) {
        return "Please only use characters that are valid in an email address";
      }
      return "";
    };
    $("#add_bot_modal").addEventListener("tessera:open", () => {
      hide(error);
      clearFieldErrors();
    });
    nameInput.addEventListener("input", () => fieldError(nameInput));
    shortInput.addEventListener("input", () => fieldError(shortInput));
    botForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      hide(error);
      clearFieldErrors();
      const shortName = shortInput.value.trim();
      const nameMsg = nameProblem(nameInput.value);
      const shortMsg = shortNameProblem(shortInput.value);
      if (nameMsg) fieldError(nameInput, nameMsg);
      if (shortMsg) fieldError(shortInput, shortMsg);
      if (nameMsg || shortMsg) {
        (nameMsg ? nameInput : shortInput).focus();
        return;
      }
      const params = {
        bot_type: type.value,
        full_name: $("#create_bot_name").value,
        short_name: shortName,
      };
      if (type.value === "3") {
        params.payload_url = JSON.stringify($("#create_payload_url").value);
        params.interface_type = $("#create_interface_type").value;
      }
      const submit = $("#create_bot_submit");
      submit.disabled = true;
      try {
        await api("POST", "/json/bots", params);
        location.reload();
      } catch (e) {
        // The server's refusals that are about one field go next to it.
        if (/name/i.test(e.message) && !/username/i.test(e.message) && !e.sessionEnded) {
          fieldError(nameInput, e.message);
          nameInput.focus();
        } else if (/username|email/i.test(e.message) && !e.sessionEnded) {
          fieldError(shortInput, e.message);
          shortInput.focus();
        } else {
          reportError(error, e, "Failed: ");
        }
        submit.disabled = false;
      }
    });
  }

  const manage = $("#manage_bot_modal");
  if (manage) {
    let bot = null;
    const keyInput = $("#bot_api_key");
    const error = $("#bot_api_key_error");
    const status = $("#bot_api_key_status");
    const confirmBox = $("#bot_regenerate_confirm");
    const download = $("#download_bot_zuliprc");
    manage._keepFocus = true;

    const failed = (e) => reportError(error, e, "Failed: ");

    $$(".open_edit_bot_form").forEach((btn) =>
      btn.addEventListener("click", async () => {
        const row = btn.closest("tr");
        bot = { id: row.dataset.botId, email: row.dataset.botEmail };
        $("#manage_bot_name").textContent = row.dataset.botName;
        $("#manage_bot_email").textContent = row.dataset.botEmail;
        $("#manage_bot_type").textContent = row.dataset.botType;
        $("#manage_bot_owner").textContent = row.dataset.botOwner;
        keyInput.value = "";
        hide(error);
        hide(confirmBox);
        status.textContent = "";
        download.href = "/json/bots/" + bot.id + "/zuliprc";
        openDialog(manage);
        $("#bot_api_key_section").scrollIntoView({ block: "start" });
        keyInput.focus();
        const keysSection = $("#bot_named_keys_section");
        keysSection.dataset.owner = bot.id;
        keysSection.dataset.email = bot.email;
        keysSection.dataset.name = row.dataset.botName;
        bot.keys = namedKeys(keysSection);
        bot.keys.refresh();
        try {
          const data = await api("GET", "/json/bots/" + bot.id + "/api_key");
          keyInput.value = data.api_key;
        } catch (e) {
          failed(e);
        }
      })
    );

    $("#copy_bot_api_key").addEventListener("click", async () => {
      if (!keyInput.value) return;
      try {
        await copyText(keyInput.value);
        report(status, "Copied!");
      } catch (e) {
        failed(e);
      }
    });
    $("#copy_bot_zuliprc").addEventListener("click", async () => {
      if (!bot) return;
      try {
        const resp = await fetch("/json/bots/" + bot.id + "/zuliprc", { credentials: "same-origin" });
        const text = await resp.text();
        if (!resp.ok) {
          let msg = text;
          try {
            msg = JSON.parse(text).msg;
          } catch (e) {
            /* not JSON */
          }
          const err = new Error(msg);
          err.sessionEnded = resp.status === 401;
          throw err;
        }
        await copyText(text);
        report(status, "Copied!");
      } catch (e) {
        failed(e);
      }
    });
    const regenerateBot = $("#regenerate_bot_api_key");
    regenerateBot.addEventListener("click", () => {
      regenerateBot.hidden = true;
      show(confirmBox);
      $("#bot_regenerate_cancel").focus();
    });
    const overlapChoice = $("#bot_regenerate_overlap");
    const overlapWarning = () => {
      const kept = { 3600: "for 1 hour", 86400: "for 24 hours" }[overlapChoice.value];
      $("#bot_regenerate_warning").textContent =
        "Generate a new API key for this bot? " +
        (kept
          ? "Integrations using the old key keep working " + kept + ", or until the new key is first used"
          : "Integrations using the old key will stop working") +
        ", and the bot's other API keys are revoked.";
    };
    overlapChoice.addEventListener("change", overlapWarning);
    regenerateBot.addEventListener("click", () => {
      overlapChoice.value = "0";
      overlapWarning();
    });
    $("#bot_regenerate_cancel").addEventListener("click", () => {
      hide(confirmBox);
      regenerateBot.hidden = false;
      regenerateBot.focus();
    });
    const regenerateBotDo = $("#bot_regenerate_do");
    regenerateBotDo.addEventListener("click", () =>
      once(regenerateBotDo, async () => {
        hide(error);
        try {
          const overlap = $("#bot_regenerate_overlap").value;
          const data = await api("POST", "/json/bots/" + bot.id + "/api_key/regenerate", {
            overlap_seconds: overlap,
          });
          hide(confirmBox);
          regenerateBot.hidden = false;
          const old =
            overlap === "0"
              ? ""
              : " The old key keeps working for " + (overlap === "3600" ? "1 hour" : "24 hours") +
                " or until the new key is first used.";
          if (data.api_key) {
            keyInput.value = data.api_key;
            report(status, "A new API key was generated." + old);
          } else {
            keyInput.value = "";
            report(status, "A new API key was generated; its owner can see it." + old);
          }
          if (bot.keys) bot.keys.refresh();
          regenerateBot.focus();
        } catch (e) {
          reportError(error, e.message ? e : new Error("Failed to generate new API key"), "Failed: ");
        }
      })
    );
    manage.addEventListener("close", () => {
      keyInput.value = "";
      hide(confirmBox);
      regenerateBot.hidden = false;
      bot = null;
    });
  }

  const listStatus = $("#bot_list_status");
  // Deactivating asks in the page, next to the table, not with the browser's confirm().
  const deactivateBox = $("#deactivate_bot_confirm");
  let deactivating = null;
  $$(".deactivate_bot").forEach((btn) =>
    btn.addEventListener("click", () => {
      deactivating = btn.closest("tr");
      hide(listStatus);
      $("#deactivate_bot_warning").textContent =
        "Deactivate " + deactivating.dataset.botName + "? It will stop working at once: its API key is refused until it is reactivated.";
      show(deactivateBox);
      $("#deactivate_bot_cancel").focus();
    })
  );
  if (deactivateBox) {
    $("#deactivate_bot_cancel").addEventListener("click", () => {
      hide(deactivateBox);
      if (deactivating) $(".deactivate_bot", deactivating).focus();
      deactivating = null;
    });
    const doButton = $("#deactivate_bot_do");
    doButton.addEventListener("click", () =>
      once(doButton, async () => {
        if (!deactivating) return;
        try {
          await api("DELETE", "/json/bots/" + deactivating.dataset.botId);
          location.reload();
        } catch (e) {
          hide(deactivateBox);
          reportError(listStatus, e, "Failed: ");
        }
      })
    );
  }
  $$(".reactivate_bot").forEach((btn) =>
    btn.addEventListener("click", async () => {
      const row = btn.closest("tr");
      try {
        await api("POST", "/json/users/" + row.dataset.botId + "/reactivate");
        location.reload();
      } catch (e) {
        reportError(listStatus, e, "Failed: ");
      }
    })
  );
})();
