// Live alerts on every open staff page (issue 17): poll a small JSON answer (ETag, so an unchanged answer is a
// bodyless 304), show each open critical or high alert in a banner until it is acknowledged, keep the inbox count
// current, and beep once for an alert this browser has not sounded yet (the teacher can turn the sound off; the
// choice is remembered on this device). The projector view does not load this script.
(function () {
  "use strict";
  var box = document.getElementById("live-alerts");
  var i18n = document.getElementById("live-alerts-i18n");
  if (!box || !i18n || !window.fetch) return;
  var T = JSON.parse(i18n.textContent);
  var VISIBLE_MS = 5000, HIDDEN_MS = 30000;
  var etag = null, timer = null, audio = null, pendingBeep = false, baseTitle = document.title, stopped = false;
  var local = window.localStorage;

  function get(key) { try { return local.getItem(key); } catch (e) { return null; } }
  function set(key, value) { try { local.setItem(key, value); } catch (e) { /* private mode: not remembered */ } }
  function fmt(s, vars) { return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; }); }
  function soundOn() { return get("xq.live.sound") !== "off"; }

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") {
        // No click or key on this page yet: the browser keeps audio off until one; beep then.
        pendingBeep = true;
        audio.resume().then(function () { if (pendingBeep && audio.state === "running") { pendingBeep = false; beep(); } },
                            function () {});
        return true;
      }
      [0, 0.28].forEach(function (start) {  // two short tones, a clear "something new"
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = "sine"; osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + start);
        gain.gain.exponentialRampToValueAtTime(0.3, audio.currentTime + start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + start + 0.22);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + start); osc.stop(audio.currentTime + start + 0.24);
      });
      return true;
    } catch (e) { return false; }
  }
  // Browsers start audio only after a user gesture: the first click or key on the page unlocks it.
  function unlock() {
    if (!audio || audio.state !== "suspended") return;
    audio.resume().then(function () { if (pendingBeep && soundOn()) { pendingBeep = false; beep(); } }, function () {});
  }
  document.addEventListener("click", unlock); document.addEventListener("keydown", unlock);

  function updateInbox(n) {
    var link = document.querySelector("[data-testid=inbox-link]");
    if (!link) return;
    var badge = link.querySelector("[data-testid=inbox-unread]");
    if (!n) { if (badge) badge.remove(); return; }
    if (!badge) {
      badge = document.createElement("span"); badge.className = "badge unread"; badge.dataset.testid = "inbox-unread";
      link.appendChild(document.createTextNode(" ")); link.appendChild(badge);
    }
    badge.textContent = String(n); badge.setAttribute("aria-label", fmt(T.unread, { n: n }));
  }

  function soundButton() {
    var b = document.createElement("button"); b.type = "button"; b.className = "live-sound"; b.dataset.testid = "live-sound";
    b.textContent = soundOn() ? T.soundOn : T.soundOff;
    b.addEventListener("click", function () {
      set("xq.live.sound", soundOn() ? "off" : "on");
      document.querySelectorAll(".live-sound").forEach(function (x) { x.textContent = soundOn() ? T.soundOn : T.soundOff; });
    });
    return b;
  }

  function render(data) {
    box.textContent = "";
    data.alerts.forEach(function (a) {
      var row = document.createElement("div"); row.className = "live-alert level-" + a.level;
      row.dataset.testid = "live-alert"; row.dataset.alertId = String(a.id);
      var text = document.createElement("span"); text.className = "live-alert-text";
      var strong = document.createElement("strong");
      strong.textContent = fmt(T.text, { level: a.level_label, "case": a.case_number, reason: a.reason_label });
      text.appendChild(strong);
      var link = document.createElement("a"); link.className = "button"; link.href = a.url; link.textContent = T.open;
      row.appendChild(text); row.appendChild(link); row.appendChild(soundButton());
      box.appendChild(row);
    });
    var more = data.open_urgent - data.alerts.length;
    if (more > 0 && box.lastChild) {
      var extra = document.createElement("span"); extra.textContent = fmt(T.more, { n: more });
      box.lastChild.querySelector(".live-alert-text").appendChild(document.createTextNode(" · ")); box.lastChild.querySelector(".live-alert-text").appendChild(extra);
    }
    document.title = data.open_urgent ? "(" + data.open_urgent + ") " + baseTitle : baseTitle;  // seen from another tab
    var newest = data.alerts.length ? data.alerts[0].id : 0;
    var heard = parseInt(get("xq.live.heard") || "0", 10);
    if (newest > heard) {
      set("xq.live.heard", String(newest));
      if (soundOn() && beep()) box.dataset.sounded = String(newest);
    }
  }

  function signedOut() {
    stopped = true;
    box.textContent = "";
    var row = document.createElement("div"); row.className = "live-alert level-high"; row.dataset.testid = "live-signed-out";
    var text = document.createElement("span"); text.className = "live-alert-text"; text.textContent = T.signedOut;
    var link = document.createElement("a"); link.className = "button"; link.href = window.location.href; link.textContent = T.signIn;
    row.appendChild(text); row.appendChild(link); box.appendChild(row);
  }

  function schedule() {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(poll, document.hidden ? HIDDEN_MS : VISIBLE_MS);
  }

  function poll() {
    var headers = { Accept: "application/json" };
    if (etag) headers["If-None-Match"] = etag;
    fetch(box.dataset.url, { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (r) {
        box.dataset.polled = "1";  // answered at least once (unchanged or not)
        if (r.redirected) { signedOut(); return null; }  // idle timeout: the login page answered
        if (r.status === 304 || !r.ok) return null;  // unchanged, or a passing error: keep what is shown
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (data) { if (data) { render(data); updateInbox(data.inbox_unread); } })
      .catch(function () { /* offline: the next poll tries again */ })
      .then(schedule);
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden && !stopped) poll(); });
  poll();
})();
