// The copy buttons next to short ids: copy the full id (data-copy) and say so for a moment.
// navigator.clipboard exists only in a secure context (https or localhost); elsewhere the
// id is copied from a selected, off-screen text area.
"use strict";
(function() {
    function copy(text) {
        if (navigator.clipboard && window.isSecureContext) {
            return navigator.clipboard.writeText(text);
        }
        const area = document.createElement("textarea");
        area.value = text;
        area.style.position = "fixed";
        area.style.left = "-9999px";
        document.body.appendChild(area);
        area.select();
        const copied = document.execCommand("copy");
        area.remove();
        return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
    }
    document.addEventListener("click", function(event) {
        const button = event.target.closest("button.ta-copy");
        if (!button) {
            return;
        }
        event.preventDefault();
        copy(button.dataset.copy).then(function() {
            button.dataset.copied = "true";  // ids.css shows a check mark meanwhile
            setTimeout(function() {
                delete button.dataset.copied;
            }, 2000);
        });
    });
})();
