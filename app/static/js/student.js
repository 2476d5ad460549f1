// The student's questionnaire page. Talks to /api/v1; keeps answers in sessionStorage so that a
// reload or a dropped connection loses nothing; retries a submission with the same idempotency key
// until the server acknowledges it. sessionStorage (not localStorage): on a shared lab PC the next
// student must never see the previous student's session.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var store = window.sessionStorage;
  var $ = function (id) { return document.getElementById(id); };
  var state = { token: null, questionnaires: [], index: 0, crisis: false };

  function fmt(s, vars) { return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k]; }); }
  function show(id) { ["join", "questionnaire", "crisis", "done"].forEach(function (s) { $(s).hidden = s !== id; }); window.scrollTo(0, 0); }
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function load(key, fallback) { try { var v = store.getItem(key); return v ? JSON.parse(v) : fallback; } catch (e) { return fallback; } }
  function save(key, value) { try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full: answers stay in memory */ } }

  function api(method, path, body) {
    // The API keeps no cookie: it answers in the language asked for, the page's (the student may have switched it).
    var headers = { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": document.documentElement.lang || "zh-CN" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch("/api/v1" + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" })
      .then(function (r) {
        var retryAfter = parseInt(r.headers.get("Retry-After"), 10);
        return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data, retryAfter: retryAfter }; });
      });
  }

  function offline(on, text) { var el = $("offline"); el.hidden = !on; document.body.classList.toggle("is-offline", on); if (on) el.textContent = text || T.offline; }

  // --- joining ---------------------------------------------------------------------------------
  // A whole school joins in the same minutes: when the server asks to wait (429, 503) the page waits as long as
  // it says (Retry-After), or longer each time, with a random part so that a class does not come back at once;
  // meanwhile a calm message, and the student need not do anything.
  var joinTry = 0;
  function deviceId() {
    // Not student data: a random id of this browser, so that guesses made elsewhere never slow this device down.
    try {
      var id = window.localStorage.getItem("xq.device");
      if (!id) { id = uuid4(); window.localStorage.setItem("xq.device", id); }
      return id;
    } catch (e) { return undefined; }
  }
  function joinDelay(res) {
    var base = Math.min(30, Math.pow(2, joinTry)) * 1000;
    var asked = res && res.retryAfter > 0 ? res.retryAfter * 1000 : 0;
    return Math.max(asked, base) + Math.random() * base;
  }
  function attemptJoin(body) {
    var err = $("join-error"), button = $("join-form").querySelector("button[type=submit]");
    button.disabled = true;
    return api("POST", "/student-sessions", body).then(function (res) {
      if (res.status === 201) { joinTry = 0; button.disabled = false; err.hidden = true; startSession(res.data); return; }
      if (res.status === 429 || res.status === 503) {
        err.textContent = T.joinWaiting; err.classList.add("calm"); err.hidden = false;
        var ms = joinDelay(res); joinTry += 1;
        return wait(ms).then(function () { return attemptJoin(body); });
      }
      joinTry = 0; button.disabled = false; err.classList.remove("calm");
      err.textContent = (res.data.error && res.data.error.message) || T.genericError; err.hidden = false;
    }, function () {
      // No connection (school Wi-Fi comes and goes): the page tries again by itself, as when the server is busy.
      err.textContent = T.networkJoin; err.classList.add("calm"); err.hidden = false;
      var ms = joinDelay(null); joinTry += 1;
      return wait(ms).then(function () { return attemptJoin(body); });
    });
  }
  $("join-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("join-error").hidden = true;
    var body = { session_code: $("session_code").value.trim(), student_number: $("student_number").value.trim(),
                 birth_date: $("birth_date").value, device: deviceId() };
    attemptJoin(body);
  });

  function startSession(data) {
    state.token = data.token || state.token;
    save("xq.token", state.token);
    state.questionnaires = data.questionnaires;
    state.crisis = load("xq.crisis", false) || !!(data.crisis && data.crisis.shown);
    if (resumeCrisis(data.crisis)) return;
    next();
  }

  function next() {
    var pending = load("xq.pending", []);
    var remaining = state.questionnaires.filter(function (q) {
      return !q.submitted && !pending.some(function (p) { return p.scale === q.scale; });
    });
    if (remaining.length === 0) { finish(); return; }
    state.index = state.questionnaires.indexOf(remaining[0]);
    render(remaining[0]);
  }

  // --- one questionnaire -----------------------------------------------------------------------
  function answersKey(q) { return "xq.answers." + q.scale; }

  function render(q) {
    show("questionnaire");
    var saved = load(answersKey(q), {});
    if (!load("xq.started." + q.scale, null)) save("xq.started." + q.scale, new Date().toISOString());
    $("q-progress").textContent = fmt(T.of, { i: state.index + 1, n: state.questionnaires.length });
    $("q-title").textContent = q.title;
    $("q-instructions").textContent = q.instructions || "";
    var list = $("q-items"); list.textContent = "";
    q.items.forEach(function (item, idx) {
      var li = document.createElement("li"); li.className = "item"; li.id = "item-" + item.id; li.dataset.index = idx;
      var fs = document.createElement("fieldset");
      var legend = document.createElement("legend"); legend.textContent = (idx + 1) + ". " + item.text; fs.appendChild(legend);
      item.options.forEach(function (opt) {
        var label = document.createElement("label"); label.className = "option";
        var input = document.createElement("input"); input.type = "radio"; input.name = item.id; input.value = String(opt.value);
        if (saved[item.id] === opt.value) input.checked = true;
        input.addEventListener("change", function () {
          var a = load(answersKey(q), {}); a[item.id] = opt.value; save(answersKey(q), a);
          li.classList.remove("missing"); applyConditions(q); updateCount(q);
        });
        label.appendChild(input); label.appendChild(document.createTextNode(" " + opt.label));
        fs.appendChild(label);
      });
      li.appendChild(fs); list.appendChild(li);
    });
    $("q-error").hidden = true;
    applyConditions(q);
    updateCount(q);
    $("q-form").onsubmit = function (ev) { ev.preventDefault(); submit(q); };
  }

  // An item with `asked_if` (ASQ question 5) is asked only when one of the named items has the given
  // answer; an item not asked is hidden and sent as null, which the scale's rules expect.
  function isAsked(q, item, a) {
    var c = item.asked_if;
    if (!c) return true;
    return c.any_of.some(function (n) { var other = q.items[n - 1]; return other && a[other.id] === c.equals; });
  }

  function applyConditions(q) {
    var a = load(answersKey(q), {}), changed = false;
    q.items.forEach(function (it) {
      var asked = isAsked(q, it, a);
      $("item-" + it.id).hidden = !asked;
      if (!asked && a[it.id] !== undefined) {
        delete a[it.id]; changed = true;
        $("item-" + it.id).querySelectorAll("input").forEach(function (input) { input.checked = false; });
      }
    });
    if (changed) save(answersKey(q), a);
  }

  function askedItems(q) {
    var a = load(answersKey(q), {});
    return q.items.filter(function (it) { return isAsked(q, it, a); });
  }

  function updateCount(q) {
    var a = load(answersKey(q), {});
    var asked = askedItems(q);
    var n = asked.filter(function (it) { return a[it.id] !== undefined; }).length;
    $("q-count").textContent = fmt(T.answered, { a: n, n: asked.length });
  }

  function submit(q) {
    var a = load(answersKey(q), {});
    var missing = [];
    q.items.forEach(function (it, idx) {
      var li = $("item-" + it.id);
      if (a[it.id] === undefined && isAsked(q, it, a)) { missing.push(idx + 1); li.classList.add("missing"); } else { li.classList.remove("missing"); }
    });
    if (missing.length) {
      var err = $("q-error");
      err.textContent = missing.length === 1 ? fmt(T.missing, { n: missing[0] }) : fmt(T.missingMany, { list: missing.join(", ") });
      err.hidden = false;
      $("item-" + q.items[missing[0] - 1].id).scrollIntoView({ behavior: "smooth", block: "center" });
      return;
    }
    var keyName = "xq.key." + q.scale;
    var key = load(keyName, null) || uuid4(); save(keyName, key);
    var payload = { scale: q.scale, version: q.version, answers: q.items.map(function (it) { return isAsked(q, it, a) ? a[it.id] : null; }),
                    idempotency_key: key, started_at: load("xq.started." + q.scale, null) };
    var pending = load("xq.pending", []); pending.push(payload); save("xq.pending", pending);
    $("q-submit").disabled = true; $("q-submit").textContent = T.sending;
    flush().then(function () { $("q-submit").disabled = false; $("q-submit").textContent = T.submit; });
  }

  // --- sending, with retries until acknowledged --------------------------------------------------
  // One sending loop at a time. `flushing` is cleared only when the loop has ended: clearing it inside
  // the loop let a call with nothing pending (after a reload, or a Wi-Fi blip's "online" event) leave a
  // stale resolved promise behind, and every later submission was silently never sent.
  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    if (!load("xq.pending", []).length) return Promise.resolve();
    flushing = sendPending().then(function () { flushing = null; }, function () { flushing = null; });
    return flushing;
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function sendPending() {
    var pending = load("xq.pending", []);
    if (!pending.length) return Promise.resolve();
    var item = pending[0];
    return api("POST", "/responses", item).then(function (res) {
      if (res.status === 200 || res.status === 201 || res.status === 409) {
        // 409: already stored earlier under another key; either way it is safely on the server.
        acknowledge(item, res.status === 409 ? null : res.data);
        return sendPending();
      }
      if (res.status === 401 && res.data.error && res.data.error.code === "session_ended") {
        // A teacher ended this session (someone joined as a classmate): nothing typed here may be sent under
        // the next student's session on this device.
        store.clear(); state.token = null; offline(false);
        $("student_number").value = ""; $("birth_date").value = "";  // the next student types their own
        show("join"); var err = $("join-error"); err.textContent = res.data.error.message; err.hidden = false;
        return;
      }
      if (res.status === 401) { offline(true, (res.data.error && res.data.error.message) || T.genericError); return; }
      if (res.status === 408 || res.status === 425 || res.status === 429) {
        // "Too slow", "too early", "too many" (a school's proxy or gateway may answer these): nothing is wrong
        // with the answers; keep them and send again with the same key, after the wait asked for.
        offline(true, T.retrying);
        var ms = res.retryAfter > 0 ? res.retryAfter * 1000 : 3000;
        return wait(ms + Math.random() * 1000).then(sendPending);
      }
      if (res.status >= 400 && res.status < 500) {
        drop(item);
        var q = state.questionnaires.find(function (x) { return x.scale === item.scale; });
        if (q) { render(q); var err = $("q-error"); err.textContent = (res.data.error && res.data.error.message) || T.genericError; err.hidden = false; }
        return;
      }
      throw new Error("server " + res.status);
    }).catch(function () {
      // Offline, or the server is restarting: keep the answers and try again with the same key.
      offline(true, navigator.onLine ? T.retrying : T.offline);
      return wait(navigator.onLine ? 3000 : 1000).then(sendPending);
    });
  }

  function drop(item) { save("xq.pending", load("xq.pending", []).filter(function (p) { return p.idempotency_key !== item.idempotency_key; })); }

  function acknowledge(item, receipt) {
    offline(false);
    drop(item);
    store.removeItem("xq.answers." + item.scale); store.removeItem("xq.key." + item.scale); store.removeItem("xq.started." + item.scale);
    state.questionnaires.forEach(function (q) { if (q.scale === item.scale) q.submitted = true; });
    if (receipt && receipt.show_crisis_resources) {
      state.crisis = true; save("xq.crisis", true);
      showCrisis(receipt.teacher_told);
      return;
    }
    if ($("crisis").hidden) next();
  }

  // --- the crisis screen and the end of the screening ---------------------------------------------
  // The server keeps whether the crisis screen is still to be seen (data.crisis.pending), so that a reload,
  // a dropped connection or a re-join on another device shows the hotlines again, until the student has
  // chosen to go on. "Your teacher has been told" shows only when the server says it is true.
  function showCrisis(teacherTold) {
    var more = state.questionnaires.some(function (q) { return !q.submitted; });
    $("crisis-continue").textContent = more ? T.crisisNext : T.crisisFinish;
    $("crisis-continue").hidden = false;
    $("crisis-told").hidden = !teacherTold;
    save("xq.crisisScreen", { teacher_told: !!teacherTold });  // shown again if a reload finds no connection
    show("crisis");
  }

  function resumeCrisisOffline() {
    var saved = load("xq.crisisScreen", null);
    if (!saved) return false;
    $("crisis-told").hidden = !saved.teacher_told;
    $("crisis-continue").hidden = true;  // the questionnaires are on the server: going on waits for the connection
    window.addEventListener("online", function () { window.location.reload(); }, { once: true });
    show("crisis");
    return true;
  }

  function resumeCrisis(info) {
    if (!info || !info.pending) return false;
    showCrisis(info.teacher_told);
    return true;
  }

  function crisisGoOn() {
    // Recorded on the server so that a reload no longer shows the screen; offline, the screen simply
    // shows again after a reload, which is the safe side.
    if (state.token) postWithToken("/student-session/crisis-seen", state.token).catch(function () {});
    store.removeItem("xq.crisisScreen");
    next();
  }
  $("crisis-continue").addEventListener("click", crisisGoOn);

  function postWithToken(path, token) {
    return fetch("/api/v1" + path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer " + token,
                 "Accept-Language": document.documentElement.lang || "zh-CN" }, body: "{}" })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (d) { return { status: r.status, data: d }; }); });
  }

  // "I want to talk to someone now" (crisis and final screens): one concern on the server however often it
  // is tapped; the token is kept in memory only for this, after the final screen cleared it from storage.
  var talkToken = null;
  function talkNow() {
    var buttons = document.querySelectorAll(".talk-now");
    var token = state.token || talkToken;
    buttons.forEach(function (b) { b.disabled = true; });
    function say(text) {
      document.querySelectorAll(".talk-status").forEach(function (el) { el.textContent = text; el.hidden = false; });
      if (text !== T.talkSent) $("done-crisis").hidden = false;  // no teacher told: the numbers to call, on the final screen too
    }
    if (!token) { buttons.forEach(function (b) { b.disabled = false; }); say(T.talkFailed); return; }
    postWithToken("/student-session/talk", token).then(function (res) {
      if (res.status === 200) { say(res.data.teacher_told ? T.talkSent : T.talkSentNoTeacher); return; }
      buttons.forEach(function (b) { b.disabled = false; }); say(T.talkFailed);
    }).catch(function () { buttons.forEach(function (b) { b.disabled = false; }); say(T.talkFailed); });
  }
  document.querySelectorAll(".talk-now").forEach(function (b) { b.addEventListener("click", talkNow); });

  function finish() {
    show("done");
    $("done-crisis").hidden = !state.crisis;
    ["xq.token", "xq.pending", "xq.crisis", "xq.crisisScreen"].forEach(function (k) { store.removeItem(k); });
    talkToken = state.token || talkToken;
    state.token = null;
  }

  window.addEventListener("online", function () { flush(); });
  window.addEventListener("offline", function () { offline(true); });

  // --- resume after a reload -------------------------------------------------------------------
  var token = load("xq.token", null);
  if (token) {
    state.token = token;
    api("GET", "/student-session").then(function (res) {
      if (res.status === 200) { startSession(res.data); flush(); } else { store.clear(); show("join"); }
    }).catch(function () { offline(true); if (!resumeCrisisOffline()) show("join"); });
  } else {
    show("join");
  }
})();
