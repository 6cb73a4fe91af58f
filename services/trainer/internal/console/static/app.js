// modelferry console: the interactions html cannot do alone. The pages
// read fine without it.
"use strict";
(function () {
  var tokenKey = "modelferry-token";

  function notice(text, bad) {
    var n = document.getElementById("notice");
    n.textContent = text;
    n.className = bad ? "bad" : "";
    n.hidden = false;
  }

  function headers(extra) {
    var h = extra || {};
    var t = sessionStorage.getItem(tokenKey);
    if (t) h.Authorization = "Bearer " + t;
    return h;
  }

  // call sends a request with the tab's token, asking for one (kept for
  // this tab only) when the trainer says it needs one.
  function call(method, url, body) {
    var opts = {method: method, headers: headers(body ? {"Content-Type": "application/json"} : {})};
    if (body) opts.body = JSON.stringify(body);
    return fetch(url, opts).then(function (resp) {
      if (resp.status !== 401 && resp.status !== 403) return resp;
      var t = window.prompt(resp.status === 401 ? "This trainer needs its token (kept for this tab only):" : "That token was refused. Token:");
      if (!t) return resp;
      sessionStorage.setItem(tokenKey, t);
      return call(method, url, body);
    });
  }

  function errorText(resp) {
    return resp.json().then(function (b) {
      var e = b && b.error ? b.error : {};
      return resp.status + " " + (e.code || "") + ": " + (e.message || resp.statusText);
    }, function () { return resp.status + " " + resp.statusText; });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-promote]");
    if (!b) return;
    var d = b.dataset;
    if (!window.confirm((d.label === "roll back" ? "Roll back " : "Promote: point ") + d.alias + " of " + d.model + " at " + d.version + "?")) return;
    b.disabled = true;
    call("PUT", "/models/" + d.model + "/aliases/" + d.alias, {version: d.version}).then(function (resp) {
      if (resp.ok) {
        return resp.json().then(function (c) {
          notice(d.alias + " now points at " + c.version + (c.previous_version ? " (was " + c.previous_version + ")" : "") + ".");
          setTimeout(function () { location.reload(); }, 600);
        });
      }
      return errorText(resp).then(function (t) {
        b.disabled = false;
        notice(t + (resp.status === 409 ? " — " + d.alias + " was not moved." : ""), true);
      });
    }, function (err) {
      b.disabled = false;
      notice("The trainer did not answer: " + err, true);
    });
  });

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-cancel]");
    if (!b || !window.confirm("Cancel run " + b.dataset.run + "?")) return;
    b.disabled = true;
    call("POST", "/runs/" + b.dataset.run + "/cancel").then(function (resp) {
      if (resp.ok) {
        notice("Cancelling: the run stops at its next iteration or load chunk.");
        return;
      }
      return errorText(resp).then(function (t) { b.disabled = false; notice(t, true); });
    }, function (err) {
      b.disabled = false;
      notice("The trainer did not answer: " + err, true);
    });
  });

  // Binary units, as the server's pages and ferry write them.
  function fmtBytes(n) {
    if (n < 1024) return n + " B";
    var u = "KMGT", i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < 3);
    return n.toFixed(1) + " " + u[i] + "iB";
  }

  function fmtNum(v) {
    var a = Math.abs(v);
    return v !== 0 && (a < 1e-3 || a >= 1e6) ? v.toPrecision(4) : String(v);
  }

  function set(el, field, text) {
    el.querySelectorAll('[data-field="' + field + '"]').forEach(function (f) { f.textContent = text; });
  }

  // watch follows a run's Server-Sent Events (read with fetch, which can
  // send the token where EventSource cannot).
  function watch(el) {
    var id = el.dataset.liveRun;
    call("GET", "/runs/" + id + "/events").then(function (resp) {
      if (!resp.ok || !resp.body) return;
      var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) return;
          buf += dec.decode(r.value, {stream: true});
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var chunk = buf.slice(0, i), name = "", data = "";
            buf = buf.slice(i + 2);
            chunk.split("\n").forEach(function (line) {
              if (line.indexOf("event:") === 0) name = line.slice(6).trim();
              else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
            });
            if (name) handle(el, name, JSON.parse(data));
          }
          return pump();
        });
      }
      return pump();
    });
  }

  function handle(el, name, d) {
    if (name === "run") {
      if (el.hasAttribute("data-reload")) { location.reload(); return; }
      var s = el.querySelector('[data-field="status"]');
      if (s) s.innerHTML = '<span class="badge s-' + d.status + '">' + d.status + "</span>";
      return;
    }
    set(el, "stage", d.stage || d.status);
    if (d.bytes_total) {
      set(el, "bytes", fmtBytes(d.bytes_read || 0) + " of " + fmtBytes(d.bytes_total));
      el.querySelectorAll('[data-field="load"]').forEach(function (p) { p.value = (d.bytes_read || 0) / d.bytes_total; });
    }
    if (d.iteration) {
      set(el, "iteration", d.iteration);
      set(el, "loss", fmtNum(d.loss));
      set(el, "grad_norm", fmtNum(d.grad_norm));
    }
  }

  // A browser opens six connections to a host: four streams leave room
  // for the pages and the API.
  document.querySelectorAll("[data-live-run]").forEach(function (el, i) {
    if (i < 4) watch(el);
  });
})();
