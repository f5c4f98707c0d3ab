(function () {
  var select = document.getElementById('machine-select');
  if (!select) { return; }
  function show() {
    var sections = document.querySelectorAll('section.machine');
    for (var i = 0; i < sections.length; i++) {
      sections[i].style.display = sections[i].getAttribute('data-machine') === select.value ? '' : 'none';
    }
  }
  select.addEventListener('change', show);
  show();
})();
