// Call `fn` once `wait` ms have passed without another call; `flush` runs a pending call now.

export function debounce(fn, wait) {
  let timer = null;
  let pending = null;

  function debounced(...args) {
    pending = args;
    clearTimeout(timer);
    timer = setTimeout(run, wait);
  }

  function run() {
    timer = null;
    const args = pending;
    pending = null;
    if (args) fn(...args);
  }

  debounced.flush = () => {
    clearTimeout(timer);
    run();
  };
  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return debounced;
}
