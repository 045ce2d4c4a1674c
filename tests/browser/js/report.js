() => {
  const nb = document.querySelector('.jp-NotebookPanel .jp-Notebook');
  if (!nb) return null;
  const cells = Array.from(nb.querySelectorAll('.jp-Cell'));
  const cellOf = el => cells.indexOf(el.closest('.jp-Cell')) + 1;
  const text = el => (el.innerText || el.textContent || '').trim();
  const outputs = Array.from(nb.querySelectorAll('.jp-OutputArea-output'));
  const errors = outputs
    .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
                 && /Traceback|Error/.test(text(o)))
    .map(o => ({cell: cellOf(o), text: text(o).slice(-1000)}));
  // what each cell printed (the start of it), e.g. a fallback's "using ... in place of your ..."
  const stdout = {};
  for (const o of outputs.filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stdout')) {
    const c = cellOf(o);
    stdout[c] = ((stdout[c] || '') + text(o) + '\n').slice(0, 2000);
  }
  // ipywidgets' renderer is a Lumino Panel without a data-mime-type attribute.
  const views = outputs.filter(o => o.classList.contains('lm-Panel') || !o.hasAttribute('data-mime-type')
      || o.getAttribute('data-mime-type') === 'application/vnd.jupyter.widget-view+json');
  const widgets = {rendered: 0, closed: 0, errors: [], unrendered: []};
  for (const v of views) {
    const t = text(v);
    if (v.querySelector('.jupyter-widgets-error-widget, .widget-error') || t.includes('Error displaying widget')) {
      widgets.errors.push({cell: cellOf(v), text: t.slice(0, 300) || '(ipywidgets error view)'});
    } else if (v.classList.contains('lm-mod-hidden')) {
      widgets.closed += 1;  // widget.close() hides its view: fine
    } else if (v.querySelector('.jupyter-widgets')) {
      widgets.rendered += 1;
    } else {
      widgets.unrendered.push({cell: cellOf(v), text: t.slice(0, 200)});
    }
  }
  const stray = Array.from(nb.querySelectorAll('.jp-Cell-outputArea'))
    .filter(a => text(a).includes('Error displaying widget')).map(cellOf);
  const imgs = Array.from(nb.querySelectorAll('.jp-RenderedImage img'));
  const codeCells = cells.filter(c => c.classList.contains('jp-CodeCell'));
  return {
    cells: cells.length,
    prompts: codeCells.map(c => ({cell: cellOf(c),
        prompt: (c.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim()})),
    errors: errors,
    stdout: stdout,
    widgets: widgets,
    strayWidgetErrors: stray,
    images: {total: imgs.length, rendered: imgs.filter(i => i.complete && i.naturalWidth > 0).length},
  };
}
