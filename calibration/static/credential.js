// "Copy the link" beside a credential's public link: shown only where the clipboard can be written.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var said = document.getElementById(button.getAttribute("data-copy") + "-copied");
    if (!input || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        if (said) { said.textContent = "Link copied."; }
      }, function () {
        input.select();
        if (said) { said.textContent = "Select the link and copy it."; }
      });
    });
  });
})();
