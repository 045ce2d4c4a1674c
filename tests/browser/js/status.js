() => {
  const panel = document.querySelector('.jp-NotebookPanel');
  const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const bar = document.querySelector('#jp-main-statusbar');
  const barText = bar ? bar.innerText : null;
  const prompts = panel ? Array.from(panel.querySelectorAll('.jp-Notebook .jp-CodeCell'))
      .map(c => { const p = c.querySelector('.jp-InputPrompt'); return p ? p.textContent.trim() : ''; }) : [];
  const dialog = document.querySelector('.jp-Dialog');
  return {
    panel: !!panel,
    indicator: indicator ? indicator.getAttribute('data-status') : null,
    statusbarIdle: barText === null ? null : /\bIdle\b/.test(barText),
    prompts: prompts,
    dialog: dialog ? dialog.innerText.replace(/\s+/g, ' ').trim().slice(0, 500) : null,
  };
}
