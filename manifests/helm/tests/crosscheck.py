#!/usr/bin/env python3
"""Cross-object checks over the chart's rendered YAML: what schema validation cannot see.

    crosscheck.py RENDERED.yaml --values values.yaml [--values more.yaml ...] [--set-file key=path ...]

The values files are merged the way Helm merges them (later wins, maps deep-merged, lists replaced, null deletes)
so that Secret references in the Deployment can be checked against the Secrets the operator declared in values.
Every problem is printed as `FAIL [check-id] object: message`; the exit status is 1 if there was any.

Checks: workload labels and selectors (Deployment, Service, PDB, NetworkPolicy, topology spread, ServiceMonitor),
probe and Service ports, Secret references, HPA vs `replicas`, CPU requests under a CPU HPA, PDB sanity, the
grace period vs preStop sleep + shutdown delay + drain, the runtime config in the ConfigMap, the restricted security context and
volume wiring.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import yaml

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]


class Report:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed = 0

    def check(self, ok: bool, check_id: str, obj: str, message: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"FAIL [{check_id}] {obj}: {message}")
        return ok


def ref(o: dict) -> str:
    return f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"


def merge_values(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_values(out[k], v)
        else:
            out[k] = v
    return out


def set_path(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def declared_secret_refs(values, path: str = "", parent: str = "") -> tuple[set[tuple[str, str]], list[str]]:
    """(name, key) pairs of every `...Secret: {name, key}` map (or entry of a `...Secrets:` map) in values, and
    where each was found."""
    found: set[tuple[str, str]] = set()
    where: list[str] = []
    if isinstance(values, dict):
        for k, v in values.items():
            p = f"{path}.{k}" if path else k
            is_ref = isinstance(v, dict) and set(v) == {"name", "key"}
            if is_ref and (k.endswith("Secret") or parent.endswith("Secrets")):
                found.add((str(v["name"]), str(v["key"])))
                where.append(p)
            else:
                f, w = declared_secret_refs(v, p, k)
                found |= f
                where += w
    elif isinstance(values, list):
        for i, v in enumerate(values):
            f, w = declared_secret_refs(v, f"{path}[{i}]")
            found |= f
            where += w
    return found, where


def selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a label set. An empty selector selects all."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and labels.get(key) in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def scaled(value, total: int, round_up: bool) -> int:
    """An IntOrString (int or "NN%") against a replica count, rounded as the disruption controller does."""
    if isinstance(value, str) and value.endswith("%"):
        x = int(value[:-1]) * total / 100
        return math.ceil(x) if round_up else math.floor(x)
    return int(value)


def port_of(container_ports: list[dict], port) -> dict | None:
    for p in container_ports:
        if (isinstance(port, str) and p.get("name") == port) or (isinstance(port, int) and p.get("containerPort") == port):
            return p
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--values", action="append", default=[])
    ap.add_argument("--set-file", action="append", default=[])
    ap.add_argument("--namespace", default="default", help="the release namespace given to helm template")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()

    values: dict = {}
    for f in args.values:
        values = merge_values(values, yaml.safe_load(Path(f).read_text()) or {})
    for kv in args.set_file:
        k, _, p = kv.partition("=")
        set_path(values, k, Path(p).read_text())

    objs = [o for o in yaml.safe_load_all(Path(args.rendered).read_text()) if o]
    r = Report()
    by_kind: dict[str, list[dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    release_ns = args.namespace  # objects without a namespace are in the release namespace

    deployments = by_kind.get("Deployment", [])
    if not r.check(len(deployments) == 1, "deployment", "chart", f"expected one Deployment, found {len(deployments)}"):
        print("\n".join(r.failures))
        return 1
    dep = deployments[0]
    dref = ref(dep)
    spec = dep["spec"]
    tmpl = spec["template"]
    pod_labels = tmpl["metadata"].get("labels") or {}
    pod = tmpl["spec"]
    containers = pod["containers"]
    cports = [p for c in containers for p in c.get("ports") or []]
    host_ns = dep["metadata"].get("namespace", release_ns)
    ns_of = lambda o: o["metadata"].get("namespace", release_ns)  # noqa: E731

    # --- selectors -------------------------------------------------------------------------------------------
    r.check(selects(spec.get("selector"), pod_labels), "selector", dref,
            f"spec.selector {spec.get('selector')} does not match the pod template labels {pod_labels}")
    services = by_kind.get("Service", [])
    for s in services:
        sel = s["spec"].get("selector") or {}
        r.check(bool(sel) and selects({"matchLabels": sel}, pod_labels), "selector", ref(s),
                f"selector {sel} does not match the Deployment's pod labels {pod_labels}")
        for p in s["spec"].get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            r.check(port_of(cports, tp) is not None, "service-port", ref(s),
                    f"targetPort {tp!r} is not a container port of {dref}")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        r.check(selects(pdb["spec"].get("selector"), pod_labels), "selector", ref(pdb),
                f"selector {pdb['spec'].get('selector')} does not match the Deployment's pod labels")
    for t in pod.get("topologySpreadConstraints") or []:
        r.check(selects(t.get("labelSelector"), pod_labels), "selector", dref,
                f"topologySpreadConstraint on {t.get('topologyKey')} selects {t.get('labelSelector')}, not these pods")

    # --- probes ----------------------------------------------------------------------------------------------
    health_paths = set()
    for c in containers:
        ports = c.get("ports") or []
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.get(kind)
            if not r.check(probe is not None, "probes", dref, f"container {c['name']} has no {kind}"):
                continue
            action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
            if action is None:
                continue  # exec probes name no port
            r.check(port_of(ports, action.get("port")) is not None, "probe-port", dref,
                    f"{c['name']}.{kind} uses port {action.get('port')!r}, which is not a container port "
                    f"({[p.get('name') or p.get('containerPort') for p in ports]})")
            if kind == "readinessProbe" and "httpGet" in probe:
                health_paths.add(probe["httpGet"].get("path"))
        live = (c.get("livenessProbe") or {}).get("httpGet")
        if live is not None:
            r.check(live.get("path") not in health_paths, "liveness", dref,
                    f"{c['name']}: liveness probes the readiness path {live.get('path')} (it checks the backends: "
                    "a database outage would restart every pod)")

    # --- Secret references -----------------------------------------------------------------------------------
    declared, declared_where = declared_secret_refs(values)
    declared_names = {n for n, _ in declared}
    for c in containers + (pod.get("initContainers") or []):
        for e in c.get("env") or []:
            skr = (e.get("valueFrom") or {}).get("secretKeyRef")
            if skr:
                r.check((skr.get("name"), skr.get("key")) in declared, "secret-ref", dref,
                        f"env {e['name']} reads Secret {skr.get('name')!r} key {skr.get('key')!r}, which values do not "
                        f"declare (declared: {sorted(declared)} at {declared_where})")
        for ef in c.get("envFrom") or []:
            sr = ef.get("secretRef")
            if sr:
                r.check(sr.get("name") in declared_names, "secret-ref", dref,
                        f"envFrom Secret {sr.get('name')!r} is not declared in values")
    for v in pod.get("volumes") or []:
        sec = v.get("secret")
        if sec is None:
            continue
        items = sec.get("items")
        r.check(bool(items), "secret-ref", dref, f"Secret volume {v['name']} mounts every key; list the declared key in items")
        for it in items or []:
            r.check((sec.get("secretName"), it.get("key")) in declared, "secret-ref", dref,
                    f"volume {v['name']} mounts Secret {sec.get('secretName')!r} key {it.get('key')!r}, "
                    "which values do not declare")

    # --- HPA, replicas, CPU requests, PDB --------------------------------------------------------------------
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    replicas_range = (spec.get("replicas", 1), spec.get("replicas", 1))
    for h in hpas:
        hs = h["spec"]
        tgt = hs.get("scaleTargetRef") or {}
        r.check(tgt.get("kind") == "Deployment" and tgt.get("name") == dep["metadata"]["name"], "hpa-target", ref(h),
                f"scaleTargetRef {tgt} is not {dref}")
        r.check("replicas" not in spec, "hpa-replicas", dref,
                f"sets spec.replicas={spec.get('replicas')} while {ref(h)} owns the replica count (every "
                "upgrade would reset the scale)")
        lo, hi = hs.get("minReplicas", 1), hs["maxReplicas"]
        replicas_range = (lo, hi)
        r.check(lo <= hi, "hpa-range", ref(h), f"minReplicas {lo} > maxReplicas {hi}")
        r.check(lo >= 2, "hpa-range", ref(h), f"minReplicas {lo} < 2: a single pod cannot be evicted without downtime")
        for m in hs.get("metrics") or []:
            res = (m.get("resource") or {}) if m.get("type") == "Resource" else {}
            if res.get("name") in ("cpu", "memory") and (res.get("target") or {}).get("type") == "Utilization":
                for c in containers:
                    req = ((c.get("resources") or {}).get("requests") or {}).get(res["name"])
                    r.check(req is not None, f"{res['name']}-request", dref,
                            f"container {c['name']} has no {res['name']} request, so {ref(h)}'s {res['name']} "
                            "utilization target cannot be computed")
    if len(hpas) > 1:
        r.check(False, "hpa-target", "chart", f"{len(hpas)} HPAs target the Deployment")

    lo, hi = replicas_range
    for pdb in by_kind.get("PodDisruptionBudget", []):
        ps = pdb["spec"]
        has_min, has_max = "minAvailable" in ps, "maxUnavailable" in ps
        r.check(has_min != has_max, "pdb", ref(pdb),
                "set exactly one of minAvailable and maxUnavailable" + (" (both are set)" if has_min else ""))
        if has_min:
            ma = scaled(ps["minAvailable"], lo, round_up=True)
            r.check(ma < lo, "pdb", ref(pdb),
                    f"minAvailable {ps['minAvailable']} ≥ the {lo} replica(s) the Deployment can scale down to "
                    f"(max {hi}): no pod could ever be evicted, node drains would hang")
        if has_max:
            mu = scaled(ps["maxUnavailable"], lo, round_up=True)
            r.check(mu >= 1, "pdb", ref(pdb), f"maxUnavailable {ps['maxUnavailable']} allows no eviction at {lo} replicas")

    # --- NetworkPolicy ---------------------------------------------------------------------------------------
    pols = by_kind.get("NetworkPolicy", [])
    host_egress = False
    host_default_deny = False
    for np_ in pols:
        ns = ns_of(np_)
        ps = np_["spec"]
        sel = ps.get("podSelector")
        if ns == host_ns:
            r.check(sel == {} or selects(sel, pod_labels), "selector", ref(np_),
                    f"podSelector {sel} selects neither the whole namespace nor the Deployment's pods")
            if sel != {} and selects(sel, pod_labels):
                types = ps.get("policyTypes") or []
                host_egress |= "Egress" in types
                if not ps.get("ingress") and not ps.get("egress") and {"Ingress", "Egress"} <= set(types):
                    host_default_deny = True
                for rule in ps.get("ingress") or []:
                    for p in rule.get("ports") or []:
                        r.check(port_of(cports, p.get("port")) is not None, "netpol-port", ref(np_),
                                f"ingress port {p.get('port')!r} is not a container port")
            elif sel == {} and {"Ingress", "Egress"} <= set(ps.get("policyTypes") or []) \
                    and not ps.get("ingress") and not ps.get("egress"):
                host_default_deny = True
        else:
            # A backend's own policy: some ingress peer must be the host pods (by pod labels; the namespace
            # selector is checked against the standard kubernetes.io/metadata.name label of the release namespace).
            peers = [p for rule in ps.get("ingress") or [] for p in rule.get("from") or []]
            ok = any(p.get("podSelector") is not None and selects(p["podSelector"], pod_labels) and
                     selects(p.get("namespaceSelector"), {"kubernetes.io/metadata.name": str(host_ns)}) for p in peers)
            r.check(ok, "selector", ref(np_),
                    f"(namespace {ns}) no ingress peer selects the eSignet host pods {pod_labels} across namespaces")
            r.check(bool(sel), "selector", ref(np_),
                    f"(namespace {ns}) podSelector is empty: it would lock down every pod of that namespace")
    if pols:
        r.check(host_default_deny, "netpol-default-deny", "chart", "no default-deny NetworkPolicy covers the host pods")
        r.check(host_egress, "netpol-egress", "chart", "no NetworkPolicy restricts the host pods' egress")

    # --- shutdown: grace period vs preStop + drain -----------------------------------------------------------
    cms = {cm["metadata"]["name"]: cm for cm in by_kind.get("ConfigMap", [])}
    rc_text = None
    for cm in cms.values():
        if "runtime-config.toml" in (cm.get("data") or {}):
            rc_text = cm["data"]["runtime-config.toml"]
    drain = 30
    delay = 1  # the host's default shutdown_delay_ms (1000), in whole seconds
    runtime_config: dict = {}
    if r.check(rc_text is not None, "runtime-config", "chart", "no ConfigMap carries runtime-config.toml"):
        try:
            runtime_config = tomllib.loads(rc_text)
        except tomllib.TOMLDecodeError as e:
            r.check(False, "runtime-config", "ConfigMap", f"runtime-config.toml is not TOML: {e}")
        drain = int(runtime_config.get("server", {}).get("drain_seconds", 30))
        delay = -(-int(runtime_config.get("server", {}).get("shutdown_delay_ms", 1000)) // 1000)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    for c in containers:
        sleep = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
        r.check(sleep > 0, "prestop", dref, f"container {c['name']} has no preStop sleep: the ingress may still "
                "route new requests to a pod that has stopped accepting them")
        r.check(grace > sleep + delay + drain, "grace-period", dref,
                f"terminationGracePeriodSeconds {grace} ≤ preStop sleep {sleep} + shutdown delay {delay} s + "
                f"drain_seconds {drain}: in-flight requests would be killed")

    # --- runtime config vs the pod ---------------------------------------------------------------------------
    server = runtime_config.get("server", {})
    env0 = {e["name"]: e.get("value") for e in containers[0].get("env") or []}
    listen = str(env0.get("ESIGNET_LISTEN") or server.get("listen", "127.0.0.1:8088"))  # the env var wins
    if "ESIGNET_LISTEN" in env0 and "listen" in server:
        r.check(env0["ESIGNET_LISTEN"] == server["listen"], "runtime-config", dref,
                f"ESIGNET_LISTEN {env0['ESIGNET_LISTEN']} differs from runtime-config.toml listen {server['listen']}")
    host, _, port = listen.rpartition(":")
    r.check(host.strip("[]") in ("0.0.0.0", "::"), "runtime-config", "ConfigMap",
            f"listen {listen} is not reachable from outside the pod")
    r.check(port.isdigit() and port_of(cports, int(port)) is not None, "runtime-config", "ConfigMap",
            f"listen port {port} is not a container port of {dref}")
    admin = str(server.get("admin_listen", "127.0.0.1:8089"))
    r.check(admin.startswith("127.") or admin.startswith("[::1]"), "runtime-config", "ConfigMap",
            f"admin_listen {admin} is not loopback: the hot-deploy API would be reachable from the network")
    for cm in cms.values():
        if "spin.toml" in (cm.get("data") or {}):
            try:
                tomllib.loads(cm["data"]["spin.toml"])
                r.check(True, "manifest", ref(cm), "")
            except tomllib.TOMLDecodeError as e:
                r.check(False, "manifest", ref(cm), f"spin.toml is not TOML: {e}")

    # --- volumes and env wiring ------------------------------------------------------------------------------
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    for c in containers:
        for m in c.get("volumeMounts") or []:
            v = vols.get(m["name"])
            if not r.check(v is not None, "volumes", dref, f"mount {m['name']} names no volume"):
                continue
            if "configMap" in v and m.get("subPath"):
                cm = cms.get(v["configMap"]["name"])
                r.check(cm is not None and m["subPath"] in (cm.get("data") or {}), "volumes", dref,
                        f"mount {m['mountPath']} takes key {m['subPath']} of ConfigMap {v['configMap']['name']}, "
                        "which the chart does not render")
        env = {e["name"]: e.get("value") for e in c.get("env") or []}
        pin_file = env.get("ESIGNET_PKCS11_PIN_FILE")
        if pin_file:
            mounted = any(
                pin_file.startswith(m["mountPath"].rstrip("/") + "/") and "secret" in vols.get(m["name"], {})
                and pin_file.rsplit("/", 1)[1] in [i["path"] for i in vols[m["name"]]["secret"].get("items") or []]
                for m in c.get("volumeMounts") or [])
            r.check(mounted, "hsm-pin", dref, f"ESIGNET_PKCS11_PIN_FILE {pin_file} is not a key of a mounted Secret")

    # --- restricted security context -------------------------------------------------------------------------
    psc = pod.get("securityContext") or {}
    r.check(pod.get("automountServiceAccountToken") is False, "security", dref, "automountServiceAccountToken is not false")
    for sa in by_kind.get("ServiceAccount", []):
        r.check(sa.get("automountServiceAccountToken") is False, "security", ref(sa), "automountServiceAccountToken is not false")
    for c in containers:
        sc = c.get("securityContext") or {}
        name = f"{dref} container {c['name']}"
        r.check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, "security", name, "runAsNonRoot is not true")
        r.check(sc.get("readOnlyRootFilesystem") is True, "security", name, "readOnlyRootFilesystem is not true")
        r.check(sc.get("allowPrivilegeEscalation") is False, "security", name, "allowPrivilegeEscalation is not false")
        r.check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), "security", name, "capabilities do not drop ALL")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        r.check(seccomp in ("RuntimeDefault", "Localhost"), "security", name, f"seccompProfile is {seccomp}")
        res = c.get("resources") or {}
        r.check(bool((res.get("requests") or {}).get("memory")) and bool((res.get("limits") or {}).get("memory")),
                "resources", name, "memory request and limit must be set")

    # --- ServiceMonitor --------------------------------------------------------------------------------------
    for sm in by_kind.get("ServiceMonitor", []):
        ss = sm["spec"]
        matched = [s for s in services if selects(ss.get("selector"), s["metadata"].get("labels") or {})]
        r.check(bool(matched), "selector", ref(sm), f"selector {ss.get('selector')} matches no Service of the chart")
        names = {p.get("name") for s in matched for p in s["spec"].get("ports") or []}
        for ep in ss.get("endpoints") or []:
            r.check(ep.get("port") in names, "service-port", ref(sm), f"endpoint port {ep.get('port')!r} is not a port "
                    f"of the selected Service ({sorted(n for n in names if n)})")

    for f in r.failures:
        print(f)
    if not args.quiet:
        print(f"crosscheck {args.rendered}: {r.passed} checks passed, {len(r.failures)} failed")
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
