// Texts of the login pages: the language file (/login/assets/i18n/<lang>.json), lookups with placeholders, and
// elements marked `data-i18n` (with `data-args`, `data-fallback`) so a language switch re-translates in place.
const ASSETS = '/v1/esignet/login/assets';
const state = { dict: {}, iso3: '', onChange: () => {} };

// The text of `key`, else of `fallbackKey`, else the key without its section (`claim.foo` -> `foo`).
export function t(key, args, fallbackKey) {
  const has = (k) => k && Object.prototype.hasOwnProperty.call(state.dict, k);
  let s = has(key) ? state.dict[key] : has(fallbackKey) ? state.dict[fallbackKey] : key.slice(key.indexOf('.') + 1);
  for (const [k, v] of Object.entries(args || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}

export function setT(el, key, args, fallbackKey) {
  el.dataset.i18n = key;
  if (args) el.dataset.args = JSON.stringify(args); else delete el.dataset.args;
  if (fallbackKey) el.dataset.fallback = fallbackKey; else delete el.dataset.fallback;
  el.textContent = t(key, args, fallbackKey);
}

export function clearT(el) {
  delete el.dataset.i18n;
  el.textContent = '';
}

// The ISO 639-2 code of the current language (`eng`), as used in clientName maps.
export function iso3() {
  return state.iso3;
}

// `callback` runs after every language change (for texts built from data, like the client's name).
export function onLanguageChange(callback) {
  state.onChange = callback;
}

function translateAll() {
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n, el.dataset.args ? JSON.parse(el.dataset.args) : null, el.dataset.fallback);
  }
  document.title = t('title');
  state.onChange();
}

// Loads and applies a language: texts, `lang` and `dir` of the page, the switcher's value.
export async function loadLanguage(code, version) {
  const r = await fetch(ASSETS + '/i18n/' + encodeURIComponent(code) + '.json?v=' + encodeURIComponent(version));
  if (!r.ok) throw new Error('language');
  state.dict = await r.json();
  const meta = state.dict._meta || {};
  state.iso3 = meta.iso3 || code;
  document.documentElement.lang = code;
  document.documentElement.dir = meta.dir === 'rtl' ? 'rtl' : 'ltr';
  document.getElementById('lang').value = code;
  translateAll();
}
