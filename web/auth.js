// Sign-in of the deployed page (issue 12). When an auth-config.json is served beside the page (the
// deployment writes it, infra/auth.py; docs/DEPLOY.md "Sign-in"):
//   {"authority": "https://cognito-idp.<region>.amazonaws.com/<pool>", "clientId": "…",
//    "redirectUri": "https://<site>/", "postLogoutRedirectUri": "https://<site>/",
//    "scopes": ["openid", "email", "profile"], "tokenEndpoint": "…", "revocationEndpoint": "…", …}
// (only authority and clientId are required; `scope` as one string and `redirectPath` work too)
// the page signs in with oidc-client-ts (web/vendor, loaded only then): the authorization code flow with
// PKCE (S256; the library has no implicit flow), the access token refreshed with the refresh token a
// minute before it expires, sign-out at the provider's end-session endpoint (with Cognito's client_id
// and logout_uri too). The endpoints come from {authority}/.well-known/openid-configuration; those the
// file names fill in or override it (Cognito's discovery lists no revocation endpoint).
// Without the file (the local stack, or a host that wants pasted tokens) startSignIn() answers null and
// the page keeps its token field and dev tokens as before.
//
// Tokens are kept in sessionStorage: this tab only, gone when it closes, never in localStorage; memory
// alone would lose the sign-in at every reload and at the redirect back from the provider. The page
// sends the access token to the API: the HTTP API's JWT authorizer takes Cognito's access token by its
// `client_id` claim (its audience is the page's client id); the ID token stays in the page.
import { el } from "./dom.js";

const CONFIG = "auth-config.json";
const LIBRARY = "vendor/oidc-client-ts/oidc-client-ts.min.js";

// The deployment's auth-config.json once read (null before, or without one): web/live.js takes the
// live events' WebSocket URL (`wsUrl`, a deploy-time value) from it.
export let deployedConfig = null;

// null without a sign-in configuration; else {token()}, the current access token ("" when signed out).
// `account`: the element the sign-in control goes in; `onChange()`: after signing out or in.
export async function startSignIn(account, onChange) {
  const response = await fetch(CONFIG, { cache: "no-store" }).catch(() => null);
  if (!response || !response.ok) return null;
  const ui = control(account);
  try {
    const config = await response.json();
    deployedConfig = config;
    if (!config.authority || !config.clientId) throw new Error(`${CONFIG} must name an authority and a clientId`);
    return await session(config, await library(), ui, onChange);
  } catch (err) {
    ui.show(null, `Sign-in is unavailable: ${err.message}`);
    return { token: () => "" };
  }
}

function library() {
  if (globalThis.oidc) return Promise.resolve(globalThis.oidc);
  return new Promise((resolve, reject) => {  // a same-origin script file: the CSP's script-src 'self'
    const script = el("script", { src: LIBRARY });
    script.addEventListener("load", () => resolve(globalThis.oidc));
    script.addEventListener("error", () => reject(new Error(`${LIBRARY} did not load`)));
    document.head.append(script);
  });
}

const ENDPOINTS = { authorizationEndpoint: "authorization_endpoint", tokenEndpoint: "token_endpoint",
  revocationEndpoint: "revocation_endpoint", endSessionEndpoint: "end_session_endpoint" };

async function session(config, { UserManager, WebStorageStateStore }, ui, onChange) {
  const here = new URL(location.pathname, location.origin).href;
  const redirect = new URL(config.redirectUri || config.redirectPath || here, location.href);
  const page = new URL(config.postLogoutRedirectUri || here, location.href).href;
  const store = new WebStorageStateStore({ store: sessionStorage });
  const manager = new UserManager({
    authority: config.authority,
    metadataSeed: Object.fromEntries(Object.entries(ENDPOINTS).filter(([name]) => config[name])
      .map(([name, key]) => [key, config[name]])),
    client_id: config.clientId,
    redirect_uri: redirect.href,
    post_logout_redirect_uri: page,
    response_type: "code",
    scope: config.scope || (config.scopes || []).join(" ") || "openid email profile",
    userStore: store,
    stateStore: store,
    automaticSilentRenew: true,  // with a refresh token: a token request, no iframe
    revokeTokenTypes: ["refresh_token"],  // Cognito revokes refresh tokens only
    revokeTokensOnSignout: true,
    loadUserInfo: false,
  });
  let user = await callback(manager, redirect, ui);
  user = user || await manager.getUser();
  if (user && user.expired) user = await manager.signinSilent().catch(() => manager.removeUser().then(() => null));

  manager.events.addUserLoaded((loaded) => { user = loaded; ui.show(user); });  // refreshed
  manager.events.addUserUnloaded(() => { user = null; ui.show(null); onChange(); });
  manager.events.addSilentRenewError((err) => {
    manager.removeUser().then(() => ui.show(null, `Your session ended (${err.message}): sign in again.`));
  });
  ui.button.addEventListener("click", async () => {
    ui.button.disabled = true;
    try {
      if (user) await signOut(manager, config, page);
      else await manager.signinRedirect({ state: { returnTo: location.href } });
    } catch (err) {
      ui.show(user, `${user ? "Sign-out" : "Sign-in"} failed: ${err.message}`);
    } finally {
      ui.button.disabled = false;
    }
  });
  ui.show(user);
  return { token: () => (user && !user.expired ? user.access_token : "") };
}

// Back from the provider: the code exchanged (or its error shown), then the code and state taken out
// of the address bar, which returns to where the sign-in started (#job=… included).
async function callback(manager, redirect, ui) {
  const query = new URLSearchParams(location.search);
  if (location.pathname !== redirect.pathname || !query.has("state")) return null;
  let user = null;
  if (query.has("code") || query.has("error")) {
    try {
      user = await manager.signinRedirectCallback();
    } catch (err) {
      ui.show(null, `Sign-in failed: ${query.get("error_description") || err.message}`);
    }
  } else {
    await manager.signoutRedirectCallback().catch(() => null);  // back from the end-session endpoint
  }
  const back = user && user.state && user.state.returnTo;
  const sameSite = back && new URL(back, location.href).origin === location.origin;
  history.replaceState(null, "", sameSite ? back : redirect.href);
  return user;
}

// The refresh token revoked, the tokens dropped, then the provider's session ended; a provider with no
// end-session endpoint: signed out of this page only.
async function signOut(manager, config, page) {
  try {
    await manager.signoutRedirect({ client_id: config.clientId, extraQueryParams: { logout_uri: page } });
  } catch (err) {
    await manager.removeUser();
    if (!/end.?session/i.test(err.message)) throw err;
  }
}

// The sign-in control, in place of the token field: who is signed in and a Sign in / Sign out button.
function control(account) {
  const field = account.querySelector("[data-loc=token]");
  for (const node of field ? [...field.childNodes] : []) {  // only its error line stays (an API's 401)
    if (node.nodeType === Node.TEXT_NODE) node.textContent = "";
    else if (!node.classList.contains("error")) node.style.display = "none";  // CSSOM: the CSP allows it
  }
  const who = el("span", { id: "signin-user" });
  const button = el("button", { type: "button", id: "signin-button" });
  const note = el("small", { id: "signin-note", class: "error", "aria-live": "polite" });
  account.prepend(el("p", { id: "signin" }, who, " ", button, " ", note));
  return {
    button,
    show(user, message = "") {
      const profile = (user && user.profile) || {};
      who.textContent = user ? `Signed in as ${profile.email || profile.name || profile.sub}` : "Not signed in";
      button.textContent = user ? "Sign out" : "Sign in";
      note.textContent = message;
    },
  };
}
