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
      throw new Error((data && data.msg) || "Request failed (" + resp.status + ")");
    }
    return data;
  }

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
  function flash(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(el._flash);
    el._flash = setTimeout(() => {
      el.textContent = "";
    }, 4000);
  }

  // ---- dialogs and password fields ------------------------------------------------------
  function openDialog(dialog) {
    if (!dialog) return;
    dialog.dispatchEvent(new CustomEvent("tessera:open"));
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    const first = $("[autofocus], input:not([type=hidden]):not([disabled]):not([readonly]), select, button", dialog);
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

  const settings = $(".settings");
  const notice = sessionStorage.getItem("tessera-notice");
  if (notice && $("#account_settings_status")) {
    sessionStorage.removeItem("tessera-notice");
    $("#account_settings_status").textContent = notice;
  }
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
      error.textContent = "";
      $("#password_confirmation").hidden = false;
    });
    keyModal.addEventListener("close", () => {
      key = "";
      value.textContent = "";
    });

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      hide(status);
      const button = $("#get_api_key_button");
      button.disabled = true;
      try {
        const data = await api("POST", "/json/fetch_api_key", { password: password.value });
        key = data.api_key;
        email = data.email;
        password.value = "";
        $("#password_confirmation").hidden = true;
        display();
        show(shown);
        $("#copy_api_key").focus();
      } catch (e) {
        show(status, "Error: " + e.message);
        password.focus();
      } finally {
        button.disabled = false;
      }
    });

    $("#copy_api_key").addEventListener("click", async (ev) => {
      try {
        await copyText(key);
        ev.target.textContent = "Copied!";
        setTimeout(() => (ev.target.textContent = "Copy"), 2000);
      } catch (e) {
        error.textContent = "Could not copy: " + e.message;
      }
    });

    $("#regenerate_api_key").addEventListener("click", () => {
      show(confirmBox);
      $("#regenerate_api_key_cancel").focus();
    });
    $("#regenerate_api_key_cancel").addEventListener("click", () => {
      hide(confirmBox);
      $("#regenerate_api_key").focus();
    });
    $("#regenerate_api_key_do").addEventListener("click", async () => {
      error.textContent = "";
      try {
        const data = await api("POST", "/api/v1/users/me/api_key/regenerate", null, [email, key]);
        key = data.api_key;
        display();
        hide(confirmBox);
        $("#copy_api_key").focus();
      } catch (e) {
        error.textContent = e.message;
      }
    });
  }

  // ---- Account & privacy → password -----------------------------------------------------
  const pwForm = $("#change_password_container");
  if (pwForm) {
    const status = $("#change_password_status");
    $("#change_password_modal").addEventListener("tessera:open", () => {
      pwForm.reset();
      hide(status);
    });
    pwForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const oldPw = $("#old_password").value;
      const newPw = $("#new_password").value;
      if (!oldPw) return show(status, "Please enter your password.");
      if (!newPw) return show(status, "Please choose a new password.");
      try {
        await api("PATCH", "/json/settings", {
          old_password: oldPw,
          new_password: newPw,
          regenerate_api_key: JSON.stringify($("#change_password_regenerate").checked),
        });
        closeDialog($("#change_password_modal"));
        if ($("#change_password_regenerate").checked) {
          // The key, devices and other sessions changed: show the page as it is now.
          sessionStorage.setItem("tessera-notice", "Your password has been changed and a new API key was generated.");
          location.reload();
          return;
        }
        flash($("#account_settings_status"), "Your password has been changed.");
      } catch (e) {
        show(status, e.message);
      }
    });
  }

  // ---- Account & privacy → devices ----------------------------------------------------
  const devices = $("#devices_section");
  if (devices) {
    const status = $("#devices_status");
    $$(".sign_out_session").forEach((btn) =>
      btn.addEventListener("click", async () => {
        const row = btn.closest("li");
        try {
          await api("DELETE", "/json/users/me/sessions/" + row.dataset.sessionId);
          row.remove();
          flash(status, "That session has been signed out.");
        } catch (e) {
          flash(status, "Failed: " + e.message);
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
    $("#logout_everywhere_do").addEventListener("click", async () => {
      hide(error);
      try {
        await api("POST", "/json/users/me/logout_everywhere", { password: $("#logout_everywhere_password").value });
        sessionStorage.setItem(
          "tessera-notice",
          "Logged out everywhere: a new API key was generated, push registrations were removed and every other browser was signed out."
        );
        location.reload();
      } catch (e) {
        show(error, "Error: " + e.message);
      }
    });
    $("#enable_login_emails").addEventListener("change", async (ev) => {
      try {
        await api("PATCH", "/json/settings", { enable_login_emails: JSON.stringify(ev.target.checked) });
        flash(status, ev.target.checked ? "New-login emails are on." : "New-login emails are off.");
      } catch (e) {
        flash(status, "Failed: " + e.message);
        ev.target.checked = !ev.target.checked;
      }
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
    $("#add_bot_modal").addEventListener("tessera:open", () => {
      hide(error);
    });
    botForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      hide(error);
      const shortName = $("#create_bot_short_name").value.trim();
      // Zulip's client-side check (adapted from Django's EmailValidator).
      if (shortName && !/^[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*$/i.test(shortName)) {
        return show(error, "Please only use characters that are valid in an email address");
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
        show(error, "Failed: " + e.message);
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

    const failed = (msg) => show(error, "Failed: " + msg);

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
        try {
          const data = await api("GET", "/json/bots/" + bot.id + "/api_key");
          keyInput.value = data.api_key;
        } catch (e) {
          failed(e.message);
        }
      })
    );

    $("#copy_bot_api_key").addEventListener("click", async () => {
      if (!keyInput.value) return;
      try {
        await copyText(keyInput.value);
        flash(status, "Copied!");
      } catch (e) {
        failed(e.message);
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
          throw new Error(msg);
        }
        await copyText(text);
        flash(status, "Copied!");
      } catch (e) {
        failed(e.message);
      }
    });
    $("#regenerate_bot_api_key").addEventListener("click", () => {
      show(confirmBox);
      $("#bot_regenerate_cancel").focus();
    });
    $("#bot_regenerate_cancel").addEventListener("click", () => {
      hide(confirmBox);
      $("#regenerate_bot_api_key").focus();
    });
    $("#bot_regenerate_do").addEventListener("click", async () => {
      hide(error);
      try {
        const data = await api("POST", "/json/bots/" + bot.id + "/api_key/regenerate");
        hide(confirmBox);
        if (data.api_key) {
          keyInput.value = data.api_key;
          flash(status, "A new API key was generated.");
        } else {
          keyInput.value = "";
          flash(status, "A new API key was generated; its owner can see it.");
        }
        $("#regenerate_bot_api_key").focus();
      } catch (e) {
        show(error, "Failed: " + (e.message || "Failed to generate new API key"));
      }
    });
    manage.addEventListener("close", () => {
      keyInput.value = "";
      bot = null;
    });
  }

  const listStatus = $("#bot_list_status");
  $$(".deactivate_bot").forEach((btn) =>
    btn.addEventListener("click", async () => {
      const row = btn.closest("tr");
      if (!window.confirm("Deactivate " + row.dataset.botName + "? It will stop working at once.")) return;
      try {
        await api("DELETE", "/json/bots/" + row.dataset.botId);
        location.reload();
      } catch (e) {
        show(listStatus, "Failed: " + e.message);
      }
    })
  );
  $$(".reactivate_bot").forEach((btn) =>
    btn.addEventListener("click", async () => {
      const row = btn.closest("tr");
      try {
        await api("POST", "/json/users/" + row.dataset.botId + "/reactivate");
        location.reload();
      } catch (e) {
        show(listStatus, "Failed: " + e.message);
      }
    })
  );
})();
