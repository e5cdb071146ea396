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
