// Adds the phone's location to the SOS form when the browser gives it. The form is sent
// whether or not a location arrives: an SOS must never wait on GPS.
(function () {
  var form = document.getElementById("sos-form");
  var note = document.getElementById("sos-location");
  if (!form || !note || !navigator.geolocation) {
    if (note) { note.textContent = note.dataset.none; }
    return;
  }
  note.textContent = note.dataset.waiting;
  navigator.geolocation.getCurrentPosition(
    function (position) {
      form.elements.latitude.value = position.coords.latitude.toFixed(6);
      form.elements.longitude.value = position.coords.longitude.toFixed(6);
      form.elements.accuracy_m.value = Math.round(position.coords.accuracy);
      form.elements.located_ms.value = Math.round(position.timestamp);
      note.textContent = note.dataset.found;
    },
    function () { note.textContent = note.dataset.none; },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
  );
})();
