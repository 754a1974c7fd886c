// The Passkeys page: once the browser has created a passkey (django-otp-webauthn's event, with the new passkey's
// id), give it the name typed beside the button by posting the page's rename form; without a name, show the list
// again (the passkey keeps its default name, which can be changed there).
document.addEventListener("otp_webauthn.register_complete", (event) => {
  const form = document.getElementById("passkey-name-form");
  if (form.elements.name.value.trim() === "") {
    window.location.reload();
    return;
  }
  form.elements.passkey.value = event.detail.id;
  form.submit();
});
