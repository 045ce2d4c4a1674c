// What the depth explorer shows, read from the page only (never the kernel); `root` is its
// output element. The DOM contract it relies on is in helpers/widgets.py (DepthExplorer).
(root) => {
  const txt = e => (e.innerText || e.textContent || '').replace(/\s+/g, ' ').trim();
  // the widget whose own label reads `name` (ipywidgets puts the description in .widget-label)
  const labelled = (sel, name) => Array.from(root.querySelectorAll(sel)).find(w => {
    const l = w.querySelector(':scope > .widget-label');
    return l && txt(l) === name;
  });
  // FNV-1a: a short signature to tell whether the grid's markup changed
  const hash = s => {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(16) + ':' + s.length;
  };
  const rows = sel => {
    const t = root.querySelector(sel);
    return t ? Array.from(t.querySelectorAll('tr'))
      .map(tr => Array.from(tr.querySelectorAll('td, th')).map(txt))
      .filter(r => r.length >= 2) : null;
  };
  const shape = rows('table.shape-table');
  const dims = name => {  // the integers of the shape in the row called `name`, e.g. [2, 32, 256]
    const r = shape && shape.find(r => r[0] === name);
    return r ? (r.slice(1).join(' ').match(/\d+/g) || []).map(Number) : null;
  };
  const params = rows('table.param-table');
  const layers = params ? params.filter(r => /^layer\s*\d+$/i.test(r[0]))
    .map(r => parseInt(r[r.length - 1].replace(/[,_\s]/g, ''), 10)) : null;
  const slider = labelled('.widget-slider', 'layers');
  const handle = slider && slider.querySelector('.noUi-handle');
  const readout = slider && slider.querySelector('.widget-readout');
  const cells = labelled('.widget-toggle-buttons', 'cell');
  const active = cells && cells.querySelector('button.mod-active');
  const grid = root.querySelector('.depth-grid');
  return {
    slider: slider ? {value: readout ? parseInt(txt(readout), 10) : null,
                      min: handle ? parseFloat(handle.getAttribute('aria-valuemin')) : null,
                      max: handle ? parseFloat(handle.getAttribute('aria-valuemax')) : null} : null,
    cell: active ? txt(active) : null,
    h_n: dims('h_n'), c_n: dims('c_n'), layers: layers,
    grid: grid ? {sig: hash(grid.innerHTML), empty: !grid.querySelector('img, svg, canvas, table') && !txt(grid)} : null,
  };
}
