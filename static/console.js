// Test connection without reloading the page, so the URL typed stays in the field.
// Without JavaScript the button posts the form and the server renders the result.
// Its words come translated from the page (the button's data-* attributes).
(function () {
  const form = document.getElementById("database-form");
  const button = document.querySelector("[data-testid=test-button]");
  const box = document.getElementById("probe-result");
  if (!form || !button || !box) return;
  button.addEventListener("click", async function (event) {
    event.preventDefault();
    button.disabled = true;
    box.className = "";
    box.textContent = button.dataset.testing;
    try {
      const response = await fetch(button.formAction, {
        method: "POST", body: new FormData(form), headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json();
      const data = body.data || { ok: false, code: body.error.code, message: body.error.message };
      const alert = document.createElement("div");
      alert.className = "alert mb-3 " + (data.ok ? "alert-success" : "alert-danger");
      alert.setAttribute("role", "status");
      const code = document.createElement("span");
      code.className = "badge text-bg-dark me-1";
      code.dataset.testid = "probe-code";
      code.textContent = data.code;
      const message = document.createElement("span");
      message.dataset.testid = "probe-message";
      message.textContent = data.message;
      alert.append(code, message);
      const latency = new Intl.NumberFormat(document.documentElement.lang).format(data.latencyMs);
      const schema = button.dataset.schema.replace("{revision}", data.schemaRevision);
      const details = data.ok ? [data.serverVersion, latency + " ms", schema].join(" · ") : data.hint;
      if (details) {
        const small = document.createElement("div");
        small.className = "small mt-1";
        small.dataset.testid = "probe-hint";
        small.textContent = details;
        alert.append(small);
      }
      box.replaceChildren(alert);
      // A test of the saved target (blank field) is its new "Last test"; a typed URL's is not.
      const lastTest = document.getElementById("last-test");
      const typed = ["database_url", "host"].some((name) => form.querySelector(`[name=${name}]`).value.trim());
      if (lastTest && !typed) {
        const badge = document.createElement("span");
        badge.className = "badge " + (data.ok ? "text-bg-success" : "text-bg-danger");
        badge.dataset.testid = "check-code";
        badge.textContent = data.code;
        const when = document.createElement("span");
        when.className = "text-muted small ms-1";
        when.textContent = button.dataset.justNow;
        lastTest.replaceChildren(badge, when);
      }
    } catch (error) {
      box.textContent = button.dataset.failed + " " + error;
    } finally {
      button.disabled = false;
    }
  });
})();
