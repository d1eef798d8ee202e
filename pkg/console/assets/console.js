// refundguard review console: progressive enhancement only. Every page works without this
// file; it adds zoom, the heatmap and outline toggles, the decision form's field switching,
// keyboard shortcuts and the lease heartbeat. Served as a file so the CSP can forbid inline
// script.
(function () {
  'use strict';

  var csrf = document.body.getAttribute('data-csrf') || '';

  // ---- photos: zoom, outlines, heatmap -------------------------------------------------
  var ZOOMS = [1, 1.5, 2, 3, 4, 6];

  function setupEvidence(article) {
    var level = 0;
    var stages = article.querySelectorAll('.stage');
    var out = article.querySelector('.zoom-level');
    function apply() {
      // The stage is sized as a share of its viewport; the image fills the stage and the
      // SVG overlay's viewBox is in image pixels, so outlines stay exact at every zoom.
      for (var i = 0; i < stages.length; i++) {
        stages[i].style.width = (ZOOMS[level] * 100) + '%';
      }
      if (out) { out.textContent = Math.round(ZOOMS[level] * 100) + '%'; }
      article.setAttribute('data-zoom', String(ZOOMS[level]));
    }
    article.addEventListener('click', function (e) {
      var b = e.target.closest('[data-zoom]');
      if (!b || !article.contains(b)) { return; }
      var dir = b.getAttribute('data-zoom');
      if (dir === 'in') { level = Math.min(level + 1, ZOOMS.length - 1); }
      else if (dir === 'out') { level = Math.max(level - 1, 0); }
      else { level = 0; }
      apply();
    });

    var outlines = article.querySelector('.toggle-outlines');
    if (outlines) {
      outlines.addEventListener('change', function () {
        var svgs = article.querySelectorAll('svg.overlay');
        for (var i = 0; i < svgs.length; i++) { svgs[i].classList.toggle('hidden', !outlines.checked); }
      });
    }

    var heat = article.querySelector('.toggle-heatmap');
    var img = article.querySelector('img.evidence-photo');
    if (heat && img) {
      var photoSrc = img.getAttribute('src');
      var heatSrc = img.getAttribute('data-heatmap');
      heat.addEventListener('change', function () {
        img.setAttribute('src', heat.checked ? heatSrc : photoSrc);
      });
    }

    // Without a server-side size the overlay takes the photo's own pixel size once loaded.
    var svg = article.querySelector('svg.overlay');
    if (svg && img && !svg.getAttribute('viewBox')) {
      var setBox = function () {
        if (img.naturalWidth) { svg.setAttribute('viewBox', '0 0 ' + img.naturalWidth + ' ' + img.naturalHeight); }
      };
      if (img.complete) { setBox(); } else { img.addEventListener('load', setBox, { once: true }); }
    }
  }

  var articles = document.querySelectorAll('article.evidence');
  for (var i = 0; i < articles.length; i++) { setupEvidence(articles[i]); }

  // ---- decision form -------------------------------------------------------------------
  var form = document.getElementById('decision-form');
  var hint = document.getElementById('confirm-hint');

  function currentOutcome() {
    var checked = form && form.querySelector('input[name="outcome"]:checked');
    return checked ? checked.value : '';
  }

  function showFields() {
    if (!form) { return; }
    var outcome = currentOutcome();
    var fields = form.querySelectorAll('.field[data-for]');
    for (var i = 0; i < fields.length; i++) {
      var on = fields[i].getAttribute('data-for') === outcome;
      fields[i].hidden = !on;
      var input = fields[i].querySelector('input, select');
      if (input) { input.required = on; }
    }
    if (hint) {
      var text = form.getAttribute('data-hint-' + outcome);
      hint.textContent = text || '';
      hint.hidden = !text;
    }
  }

  if (form) {
    form.addEventListener('change', function (e) {
      if (e.target && e.target.name === 'outcome') { showFields(); }
    });
    showFields();
  }

  function choose(outcome) {
    var radio = document.getElementById('outcome-' + outcome);
    if (!radio) { return false; }
    radio.checked = true;
    showFields();
    // Approve puts focus on the confirm button (Enter confirms); reject needs a reason first.
    var next = outcome === 'reject' ? document.getElementById('reason_code') : document.getElementById('decide-submit');
    if (next) {
      next.focus();
      if (next.scrollIntoView) { next.scrollIntoView({ block: 'center' }); }
    }
    return true;
  }

  // ---- keyboard shortcuts --------------------------------------------------------------
  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName.toLowerCase();
    if (tag === 'textarea' || tag === 'select' || el.isContentEditable) { return true; }
    if (tag !== 'input') { return false; }
    var type = (el.getAttribute('type') || 'text').toLowerCase();
    return ['checkbox', 'radio', 'button', 'submit', 'reset', 'hidden'].indexOf(type) < 0;
  }

  document.addEventListener('keydown', function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing || typing(e.target)) { return; }
    var handled = false;
    switch (e.key) {
      case 'n':
        var lease = document.getElementById('lease-form');
        if (lease) { lease.submit(); handled = true; }
        break;
      case 'a':
        handled = choose('approve');
        break;
      case 'r':
        handled = choose('reject');
        break;
    }
    if (handled) { e.preventDefault(); }
  });

  // ---- lease heartbeat -----------------------------------------------------------------
  // Keep the lease while the page is open and visible; an abandoned tab lets it expire.
  var beat = form && form.getAttribute('data-heartbeat');
  if (beat && window.fetch) {
    setInterval(function () {
      if (document.visibilityState !== 'visible') { return; }
      fetch(beat, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } })
        .then(function (resp) {
          // 409: the lease is gone (expired, or another reviewer has the task now).
          var lost = document.getElementById('lease-lost');
          if (lost && resp.status === 409) { lost.hidden = false; }
        })
        .catch(function () { /* network trouble: the next beat retries; the lease lasts until it expires */ });
    }, Number(form.getAttribute('data-heartbeat-ms')) || 60000);
  }
})();
