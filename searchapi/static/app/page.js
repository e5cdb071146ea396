// Progressive enhancement only: every page works without this script.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// Warn two minutes before the idle timeout signs the practitioner out.
const idle = Number(document.body.dataset.idleSeconds || 0);
if (idle > 180) {
  window.setTimeout(() => {
    const banner = document.createElement("div");
    banner.className = "govuk-notification-banner";
    banner.setAttribute("role", "alert");
    banner.innerHTML =
      '<div class="govuk-notification-banner__content"><p class="govuk-notification-banner__heading">' +
      "You will be signed out in 2 minutes because you have not used ContactPoint. " +
      '<a class="govuk-notification-banner__link" href="">Reload the page</a> to stay signed in.</p></div>';
    document.getElementById("main-content").prepend(banner);
  }, (idle - 120) * 1000);
}

// A printout says when it was printed (the page says when it was made, without the script).
window.addEventListener("beforeprint", () => {
  const now = new Date();
  const day = now.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
  const time = now.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  for (const element of document.querySelectorAll(".cp-printed-at")) {
    element.textContent = `${day} at ${time}`;
  }
});
