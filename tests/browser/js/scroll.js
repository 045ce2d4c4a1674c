() => {
  const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
  if (!outer) return null;
  outer.scrollTop = 0;
  const cells = outer.querySelectorAll('.jp-Cell');
  const last = cells.length ? cells[cells.length - 1] : null;
  const content = last ? last.getBoundingClientRect().bottom - outer.getBoundingClientRect().top : outer.scrollHeight;
  return {content: content, clientHeight: outer.clientHeight, innerHeight: window.innerHeight};
}
