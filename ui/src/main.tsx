/** The console's shell: session (login with the management token), navigation, pages. */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { currentSession, login, logout, useSession, type Session } from "./rpc.js";
import { ErrorLine } from "./kit.js";
import { FleetPage } from "./pages/fleet.js";
import { TablesPage } from "./pages/tables.js";
import { PendingPage } from "./pages/pending.js";
import { DryRunPage } from "./pages/dryrun.js";
import { LivePage } from "./pages/live.js";
import { CdrsPage } from "./pages/cdrs.js";
import { AuditPage } from "./pages/audit.js";
import "./style.css";

const PAGES = [
  { id: "fleet", title: "Fleet", view: FleetPage },
  { id: "tables", title: "Tables", view: TablesPage },
  { id: "pending", title: "Pending & push", view: PendingPage },
  { id: "dryrun", title: "Dry run", view: DryRunPage },
  { id: "live", title: "Live state", view: LivePage },
  { id: "cdrs", title: "CDRs", view: CdrsPage },
  { id: "audit", title: "Audit", view: AuditPage },
] as const;

const pageOf = () => PAGES.find((p) => `#${p.id}` === location.hash.split("?")[0]) ?? PAGES[0];

function Login({ onIn, tokensRequired }: { onIn: (s: Session) => void; tokensRequired: boolean }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <main class="login">
      <h1>Olelo console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          login(token).then(onIn, (x: Error) => setError(x.message));
        }}
      >
        <label for="token">Management API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        {!tokensRequired ? <small>No tokens are configured (loopback mode): leave it empty to log in as "local".</small> : null}
        <button type="submit">Log in</button>
        <ErrorLine error={error} />
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checked, setChecked] = useState<{ tokensRequired: boolean } | null>(null);
  const [page, setPage] = useState(pageOf());
  useSession(session, () => setSession(null));
  useEffect(() => {
    currentSession().then((r) => {
      setSession(r.session);
      setChecked({ tokensRequired: r.tokensRequired });
    });
    const onHash = () => setPage(pageOf());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  if (!checked) return <p>Loading…</p>;
  if (!session) return <Login onIn={setSession} tokensRequired={checked.tokensRequired} />;
  const View = page.view;
  return (
    <>
      <header>
        <strong>Olelo console</strong>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a href={`#${p.id}`} aria-current={p.id === page.id ? "page" : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {session.actor} ({session.role})
        </span>
        <button type="button" onClick={() => logout().then(() => setSession(null))}>
          Log out
        </button>
      </header>
      <main id="main">
        <h1>{page.title}</h1>
        <View session={session} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
