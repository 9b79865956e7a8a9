/* The tracking page's opt-in: "nhắn cho tôi khi sắp đến lượt" (server/web/api/notify.py).
 * Shown while the ticket waits or is called, when the centre offers a channel (SMS, Zalo, e-mail);
 * the citizen picks one, types a phone number or an e-mail address, and sees it masked once saved,
 * with a button to cancel. Text goes in with textContent only (QK.setBi). */
(function () {
  "use strict";

  const section = document.getElementById("notify");
  if (!section) return;
  const page = QK.page();
  const url = QK.url("/api/v1/tickets/" + encodeURIComponent(page.ticket.id) + "/notifications");
  const form = document.getElementById("notify-form");
  const choices = document.getElementById("notify-channels");
  const address = document.getElementById("notify-address");
  const addressLabel = document.getElementById("notify-address-label");
  const done = document.getElementById("notify-done");
  const error = document.getElementById("notify-error");
  const addressError = document.getElementById("notify-address-error");  // under the box: what is wrong there
  const language = (navigator.language || "vi").toLowerCase().startsWith("en") ? "en" : "vi";
  let offered = null;

  function chosen() {
    const checked = choices.querySelector("input:checked");
    return checked ? checked.value : null;
  }

  function fitAddress() {
    const push = chosen() === "push";
    address.hidden = addressLabel.hidden = push;
    address.required = !push;
    const email = chosen() === "email";
    QK.setBi(addressLabel, email ? "track_notify_email" : "track_notify_phone");
    address.type = email ? "email" : "tel";
    address.inputMode = email ? "email" : "tel";
    address.autocomplete = email ? "email" : "tel";
  }

  // a refusal in both languages, as the rest of the page (its translations); a typed address's under its
  // box, with the box's label ("Địa chỉ e-mail: ..."), not the API's field name
  function showError(answer) {
    const refused = answer && answer.data && answer.data.error;
    if (!refused) {
      error.hidden = false;
      QK.setBi(error, answer && answer.status ? "page_unexpected" : "page_network_error", {status: answer && answer.status});
      return;
    }
    const said = function (lang) { return (refused.translations || {})[lang] || refused; };
    const label = chosen() === "email" ? "track_notify_email" : "track_notify_phone";
    if (refused.field === "address" && refused.problem && !address.hidden) {
      QK.setPair(addressError, QK.msg("page_field_problem", {label: QK.msg(label, null, "vi"), problem: said("vi").problem}, "vi"),
                 QK.msg("page_field_problem", {label: QK.msg(label, null, "en"), problem: said("en").problem}, "en"));
      addressError.hidden = false;
      address.setAttribute("aria-invalid", "true");
      address.focus();
      return;
    }
    QK.setPair(error, said("vi").message, said("en").message);
    error.hidden = false;
  }

  function clearErrors() {
    error.hidden = addressError.hidden = true;
    address.removeAttribute("aria-invalid");
  }

  function draw() {
    const open = document.body.dataset.status === "waiting" || document.body.dataset.status === "called";
    section.hidden = !offered || !offered.channels.length || !open;
    if (section.hidden) return;
    QK.setBi(document.getElementById("notify-hint"), "track_notify_hint", {ahead: offered.ahead});
    if (!choices.children.length) {
      // push needs a service worker, so a secure page (https, or this very machine)
      const usable = offered.channels.filter(function (name) {
        return name !== "push" || QK.push.usable();
      });
      usable.forEach(function (name, index) {
        const label = QK.el("label", "notify-channel");
        const radio = QK.el("input");
        radio.type = "radio";
        radio.name = "channel";
        radio.value = name;
        radio.checked = index === 0;
        radio.addEventListener("change", function () { clearErrors(); fitAddress(); });
        label.appendChild(radio);
        label.appendChild(QK.setBi(QK.el("span"), "track_notify_channel_" + name));
        choices.appendChild(label);
      });
      fitAddress();
    }
    done.replaceChildren();
    offered.subscriptions.forEach(function (subscription) {
      const item = QK.el("li");
      item.dataset.channel = subscription.channel;
      const channelName = {vi: QK.msg("track_notify_channel_" + subscription.channel, null, "vi"),
                           en: QK.msg("track_notify_channel_" + subscription.channel, null, "en")};
      item.appendChild(QK.el("span", "vi", QK.msg("track_notify_done", {address: subscription.address, channel: channelName.vi}, "vi")));
      item.appendChild(QK.el("span", "en", QK.msg("track_notify_done", {address: subscription.address, channel: channelName.en}, "en")));
      const cancel = QK.setBi(QK.el("button", "notify-cancel"), "track_notify_cancel");
      cancel.type = "button";
      cancel.addEventListener("click", function () {
        QK.api("DELETE", url + "/" + encodeURIComponent(subscription.channel), undefined, language).then(function (answer) {
          if (!answer.ok) { showError(answer); return; }
          load();
        }, showError);
      });
      item.appendChild(cancel);
      done.appendChild(item);
    });
  }

  function load() {
    return QK.api("GET", url, undefined, language).then(function (answer) {
      if (!answer.ok) return;
      offered = answer.data;
      draw();
    }, function () {});
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    const button = document.getElementById("notify-submit");
    button.disabled = true;
    const channel = chosen();
    // this browser's push subscription (server/web/static/push.js), for the tracking pages of this
    // page's site (/t/, or /s/{site}/t/ with its worker under /api/v1/sites/{site}/): a tapped
    // notification opens this site's page
    const value = channel === "push" ? QK.push.subscribe(QK.url("/api/v1/push/sw.js"), QK.url("/t/")) : Promise.resolve(address.value);
    value.then(function (text) {
      return QK.api("POST", url, {channel: channel, address: text, language: language}, language).then(function (answer) {
        button.disabled = false;
        if (!answer.ok) { showError(answer); return; }
        address.value = "";
        load();
      });
    }).catch(function (problem) {
      button.disabled = false;
      const key = problem && problem.message === "denied" ? "track_notify_push_denied" : "track_notify_push_failed";
      error.hidden = false;
      QK.setBi(error, channel === "push" ? key : "page_network_error");
    });
  });

  // the page's own script follows the ticket (body[data-status]); served or gone: nothing left to ask
  new MutationObserver(draw).observe(document.body, {attributes: true, attributeFilter: ["data-status"]});
  load();
})();
