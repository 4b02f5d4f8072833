// Tabs in the ARIA tabs pattern: one `[role=tablist]` of `[role=tab]`
// buttons, each naming its `[role=tabpanel]` in `aria-controls`. Only the
// selected tab is in the Tab order; Left/Right/Home/End move between tabs and
// select them. The choice is kept in the address as `#<data-tab>` so that a
// reload or a link opens the same tab.
'use strict';

const Tabs = (() => {
  /**
   * Wires the tablist `list`. `onChange(name)` runs after every selection,
   * including the first one made from the address. Returns `select(name)`.
   */
  function setup(list, onChange = () => {}) {
    const tabs = [...list.querySelectorAll('[role="tab"]')];
    const baseTitle = document.title.replace(/^[^·]*·\s*/, '');

    function select(tab, focus) {
      for (const other of tabs) {
        const chosen = other === tab;
        other.setAttribute('aria-selected', String(chosen));
        other.tabIndex = chosen ? 0 : -1;
        document.getElementById(other.getAttribute('aria-controls')).hidden = !chosen;
      }
      if (focus) tab.focus();
      document.title = `${tab.dataset.title || tab.textContent.trim()} · ${baseTitle}`;
      const hash = tab === tabs[0] ? '' : '#' + tab.dataset.tab;
      if (location.hash !== hash) {
        history.replaceState(null, '', location.pathname + location.search + hash);
      }
      onChange(tab.dataset.tab);
    }

    function onKey(event) {
      const index = tabs.indexOf(event.currentTarget);
      const moves = {
        ArrowRight: (index + 1) % tabs.length,
        ArrowLeft: (index - 1 + tabs.length) % tabs.length,
        Home: 0,
        End: tabs.length - 1,
      };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select(tabs[moves[event.key]], true);
    }

    for (const tab of tabs) {
      tab.addEventListener('click', () => select(tab, false));
      tab.addEventListener('keydown', onKey);
    }
    const byName = (name) => tabs.find((t) => t.dataset.tab === name);
    select(byName(location.hash.slice(1)) || tabs[0], false);
    window.addEventListener('hashchange', () => {
      const tab = byName(location.hash.slice(1));
      if (tab) select(tab, false);
    });
    return (name) => {
      const tab = byName(name);
      if (tab) select(tab, true);
    };
  }

  return { setup };
})();
