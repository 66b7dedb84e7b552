#!/usr/bin/env python3
"""Writes the API responses the watch tests replay, in the shapes the Kubernetes API
server (v1.34) returns them: a PodList for a list call, newline-delimited watch events
(ADDED, MODIFIED, BOOKMARK, DELETED, and ERROR 410 Expired) for a watch call, Services
and EndpointSlices. No cluster can run where these tests run; the objects follow the
API reference (and k8s-openapi, which must parse them). Run it to regenerate:

    python3 cluster/tests/data/api/make.py
"""

import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
UID = "7d1f0c52-8d1b-4f3c-9a55-{:012x}"


def pod(name, namespace, rv, ip, node, phase="Running", restarts=0, last=None, waiting=None,
        sidecar=True, labels=None, generate=None, n=0, owner=None, host_network=False, sidecar_image=None,
        sidecar_waiting=None):
    containers = [{"name": "app", "image": "registry.example/shop/" + name.split("-")[0] + ":1.4.2",
                   "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                   "resources": {}, "terminationMessagePath": "/dev/termination-log",
                   "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}]
    init = []
    if sidecar:
        init.append({"name": "remora-sidecar", "image": sidecar_image or "ghcr.io/remora-dev/remora-sidecar:0.1.0",
                     "restartPolicy": "Always", "resources": {}, "imagePullPolicy": "IfNotPresent",
                     "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
    state = {"running": {"startedAt": "2026-11-28T09:14:03Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting, "message": "back-off 40s restarting failed container=app pod=" + name}}
    status = {"name": "app", "image": containers[0]["image"], "imageID": "registry.example/shop@sha256:" + "ab" * 32,
              "containerID": "containerd://" + "%064x" % (n + 1), "ready": phase == "Running" and not waiting,
              "restartCount": restarts, "started": not waiting, "state": state, "lastState": last or {}}
    meta = {"name": name, "namespace": namespace, "uid": UID.format(n), "resourceVersion": str(rv),
            "creationTimestamp": "2026-11-28T09:13:58Z", "labels": labels or {"app": name.split("-")[0]}}
    if generate:
        meta["generateName"] = generate
    if sidecar:
        meta["annotations"] = {"remora.dev/status": "{\"version\":1,\"container\":\"remora-sidecar\",\"mode\":\"native\"}"}
    if owner:
        kind, owner_name = owner
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": UID.format(n + 50),
                                    "controller": True, "blockOwnerDeletion": True}]
    body = {"kind": "Pod", "apiVersion": "v1", "metadata": meta,
            "spec": {"initContainers": init, "containers": containers, "restartPolicy": "Always",
                     "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                     "serviceAccountName": "default", "nodeName": node, "schedulerName": "default-scheduler",
                     "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority", "priority": 0},
            "status": {"phase": phase, "hostIP": {"kind-worker": "172.18.0.3", "kind-worker2": "172.18.0.4"}[node],
                       "hostIPs": [{"ip": {"kind-worker": "172.18.0.3", "kind-worker2": "172.18.0.4"}[node]}],
                       "startTime": "2026-11-28T09:13:58Z", "qosClass": "BestEffort",
                       "conditions": [{"type": "Ready", "status": "True" if phase == "Running" and not waiting else "False",
                                       "lastProbeTime": None, "lastTransitionTime": "2026-11-28T09:14:05Z"}],
                       "containerStatuses": [status] if phase != "Pending" else []}}
    if sidecar and phase != "Pending":
        body["status"]["initContainerStatuses"] = [{
            "name": "remora-sidecar", "image": init[0]["image"], "imageID": "ghcr.io/remora-dev/remora-sidecar@sha256:" + "cd" * 32,
            "containerID": "containerd://" + "%064x" % (n + 100), "ready": True, "restartCount": 0, "started": True,
            "state": {"running": {"startedAt": "2026-11-28T09:14:01Z"}}, "lastState": {}}]
    if sidecar_waiting:
        # The native sidecar (an init container) cannot start: neither can the app.
        reason, message = sidecar_waiting
        body["status"]["initContainerStatuses"] = [{
            "name": "remora-sidecar", "image": init[0]["image"], "imageID": "", "ready": False, "restartCount": 0, "started": False,
            "state": {"waiting": {"reason": reason, "message": message}}, "lastState": {}}]
        body["status"]["containerStatuses"] = [{
            "name": "app", "image": containers[0]["image"], "imageID": "", "ready": False, "restartCount": 0, "started": False,
            "state": {"waiting": {"reason": "PodInitializing"}}, "lastState": {}}]
        body["status"]["conditions"][0]["status"] = "False"
    if host_network:
        body["spec"]["hostNetwork"] = True
    if ip:
        body["status"]["podIP"] = ip
        body["status"]["podIPs"] = [{"ip": ip}]
    return body


def pod_list(rv, pods):
    items = []
    for p in pods:
        p = copy.deepcopy(p)
        # Items of a list carry no kind/apiVersion.
        del p["kind"], p["apiVersion"]
        items.append(p)
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}, "items": items}


def write(name, value):
    with open(os.path.join(HERE, name), "w") as f:
        if isinstance(value, list):
            f.write("".join(json.dumps(v, separators=(",", ":")) + "\n" for v in value))
        else:
            json.dump(value, f, separators=(",", ":"))
            f.write("\n")


def main():
    web = pod("web-7c9f8b6d4-x2lkq", "shop", 1201, "10.244.1.5", "kind-worker", generate="web-7c9f8b6d4-", n=1)
    db = pod("db-0", "shop", 1188, "10.244.2.7", "kind-worker2", labels={"app": "db", "statefulset.kubernetes.io/pod-name": "db-0"}, n=2)
    write("pods-list-1.json", pod_list(1210, [web, db]))

    cart_pending = pod("cart-5d4b9c7f6-q8zfn", "shop", 1215, None, "kind-worker", phase="Pending", sidecar=False, generate="cart-5d4b9c7f6-", n=3)
    cart = pod("cart-5d4b9c7f6-q8zfn", "shop", 1219, "10.244.1.9", "kind-worker", sidecar=False, generate="cart-5d4b9c7f6-", n=3)
    oom = {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-28T09:14:03Z",
                          "finishedAt": "2026-11-28T09:20:41Z", "containerID": "containerd://" + "%064x" % 2}}
    web_restarted = pod("web-7c9f8b6d4-x2lkq", "shop", 1224, "10.244.1.5", "kind-worker", restarts=1, last=oom, generate="web-7c9f8b6d4-", n=1)
    crash = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-11-28T09:21:00Z",
                            "finishedAt": "2026-11-28T09:21:02Z", "containerID": "containerd://" + "%064x" % 3}}
    web_crashing = pod("web-7c9f8b6d4-x2lkq", "shop", 1240, "10.244.1.5", "kind-worker", restarts=3, last=crash,
                       waiting="CrashLoopBackOff", generate="web-7c9f8b6d4-", n=1)
    db_gone = copy.deepcopy(db)
    db_gone["metadata"]["resourceVersion"] = "1231"
    db_gone["metadata"]["deletionTimestamp"] = "2026-11-28T09:22:10Z"
    db_gone["metadata"]["deletionGracePeriodSeconds"] = 0
    bookmark = {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "1235",
                "annotations": {"k8s.io/initial-events-end": "true"}}}
    write("pods-watch-1.jsonl", [
        {"type": "ADDED", "object": cart_pending},
        {"type": "MODIFIED", "object": cart},
        {"type": "MODIFIED", "object": web_restarted},
        {"type": "DELETED", "object": db_gone},
        {"type": "BOOKMARK", "object": bookmark},
        {"type": "MODIFIED", "object": web_crashing},
    ])
    write("pods-watch-2.jsonl", [
        {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": "too old resource version: 1240 (1302)", "reason": "Expired", "code": 410}},
    ])
    api = pod("api-6f8d7c5b9-m4r2t", "shop", 1290, "10.244.2.11", "kind-worker2", generate="api-6f8d7c5b9-", n=4)
    write("pods-list-2.json", pod_list(1302, [web_crashing, cart, api]))

    service = {"kind": "Service", "apiVersion": "v1",
               "metadata": {"name": "web", "namespace": "shop", "uid": UID.format(10), "resourceVersion": "1102",
                            "creationTimestamp": "2026-11-28T09:10:00Z", "labels": {"app": "web"}},
               "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                        "selector": {"app": "web"}, "clusterIP": "10.96.41.7", "clusterIPs": ["10.96.41.7"],
                        "type": "ClusterIP", "sessionAffinity": "None", "ipFamilies": ["IPv4"],
                        "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
               "status": {"loadBalancer": {}}}
    headless = copy.deepcopy(service)
    headless["metadata"].update({"name": "db", "uid": UID.format(11), "resourceVersion": "1103", "labels": {"app": "db"}})
    headless["spec"].update({"clusterIP": "None", "clusterIPs": ["None"], "selector": {"app": "db"}})
    write("services-list.json", {"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1210"},
                                 "items": [{k: v for k, v in s.items() if k not in ("kind", "apiVersion")} for s in (service, headless)]})
    slice_ = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
              "metadata": {"name": "web-8wq2d", "namespace": "shop", "uid": UID.format(12), "resourceVersion": "1205",
                           "generateName": "web-", "labels": {"kubernetes.io/service-name": "web",
                                                             "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                           "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": UID.format(10),
                                                "controller": True, "blockOwnerDeletion": True}]},
              "addressType": "IPv4",
              "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True, "serving": True, "terminating": False},
                             "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-7c9f8b6d4-x2lkq", "uid": UID.format(1)},
                             "nodeName": "kind-worker"}],
              "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]}
    write("endpointslices-list.json", {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                                       "metadata": {"resourceVersion": "1210"},
                                       "items": [{k: v for k, v in slice_.items() if k not in ("kind", "apiVersion")}]})


def scripts_objects():
    def configmap(rv, data):
        return {"kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": "remora-scripts", "namespace": "remora", "uid": UID.format(20), "resourceVersion": str(rv),
                             "creationTimestamp": "2026-11-28T09:00:00Z",
                             "labels": {"app.kubernetes.io/name": "remora", "app.kubernetes.io/component": "scripts",
                                        "app.kubernetes.io/managed-by": "Helm"},
                             "annotations": {"meta.helm.sh/release-name": "remora", "meta.helm.sh/release-namespace": "remora"}},
                "data": data}
    first = configmap(2001, {"errors.js": "function onItemCaptured(data) { if (data.response.status >= 500) console.log(data.request.path); }\n"})
    write("configmaps-list.json", {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "2010"},
                                   "items": [{k: v for k, v in first.items() if k not in ("kind", "apiVersion")}]})
    write("configmap-remora-scripts.json", first)
    second = configmap(2020, dict(first["data"], **{"slow.js": "function onItemCaptured(data) { if (data.elapsedTime > 1000) console.log('slow'); }\n"}))
    write("configmaps-watch.jsonl", [{"type": "MODIFIED", "object": second}])
    secret = {"metadata": {"name": "remora-env", "namespace": "remora", "uid": UID.format(21), "resourceVersion": "2002",
                           "creationTimestamp": "2026-11-28T09:00:00Z", "labels": {"app.kubernetes.io/component": "scripts"}},
              "type": "Opaque", "data": {"SLACK_WEBHOOK": "aHR0cHM6Ly9ob29rcy5zbGFjay5jb20vc2VydmljZXMvVDAwL0IwMC9YWFg="}}
    write("secrets-list.json", {"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": "2010"}, "items": [secret]})
    # The hub's tokens Secret: not there at the first start (GET 404), then as created
    # (POST 201), and a create that lost a race with another hub (409).
    write("status-secret-tokens-not-found.json", status(404, "NotFound", "secrets \"remora-hub-tokens\" not found",
                                                       {"name": "remora-hub-tokens", "kind": "secrets"}))
    write("status-secret-tokens-exists.json", status(409, "AlreadyExists", "secrets \"remora-hub-tokens\" already exists",
                                                     {"name": "remora-hub-tokens", "kind": "secrets"}))
    write("secret-remora-hub-tokens.json", {
        "kind": "Secret", "apiVersion": "v1",
        "metadata": {"name": "remora-hub-tokens", "namespace": "remora", "uid": UID.format(22), "resourceVersion": "2030",
                     "creationTimestamp": "2026-11-28T09:00:05Z",
                     "labels": {"app.kubernetes.io/component": "hub", "app.kubernetes.io/managed-by": "remora-hub",
                                "app.kubernetes.io/name": "remora"},
                     "managedFields": [{"manager": "remora-hub", "operation": "Update", "apiVersion": "v1",
                                        "time": "2026-11-28T09:00:05Z", "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:data": {".": {}, "f:tokens": {}}, "f:metadata": {"f:labels": {}}, "f:type": {}}}]},
        "type": "Opaque", "data": {"tokens": "cjBtM3JhVG9rZW5NYWRlQnlUaGVIdWJBdEZpcnN0U3RhcnQxMgo="}})
    write("status-configmap-forbidden-patch.json", {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "configmaps \"remora-scripts\" is forbidden: User \"system:serviceaccount:remora:remora-hub\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"remora\"",
        "reason": "Forbidden", "details": {"name": "remora-scripts", "kind": "configmaps"}, "code": 403})


def token_reviews():
    # POST /apis/authentication.k8s.io/v1/tokenreviews: the API server echoes the spec.
    def review(status):
        return {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None, "managedFields": []},
                "spec": {"token": "REDACTED", "audiences": ["remora-hub"]}, "status": status}
    write("tokenreview-pod.json", review({
        "authenticated": True,
        "user": {"username": "system:serviceaccount:shop:default", "uid": UID.format(30),
                 "groups": ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"],
                 "extra": {"authentication.kubernetes.io/credential-id": ["JTI=0c6b7a4e-5f2d-4c1b-9a8e-3d2f1e0b9c7a"],
                           "authentication.kubernetes.io/node-name": ["kind-worker"],
                           "authentication.kubernetes.io/node-uid": [UID.format(31)],
                           "authentication.kubernetes.io/pod-name": ["web-7c9f8b6d4-x2lkq"],
                           "authentication.kubernetes.io/pod-uid": [UID.format(1)]}},
        "audiences": ["remora-hub"]}))
    write("tokenreview-refused.json", review({
        "user": {}, "error": "[invalid bearer token, service account token has expired]"}))


def access_reviews():
    """A person's own token (an OIDC ID token kubectl holds), and what RBAC answers when
    the hub asks whether that person may use a Remora role (the verb) on hubs.remora.dev."""
    write("tokenreview-person.json", {
        "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None, "managedFields": []},
        "spec": {"token": "REDACTED"},
        "status": {"authenticated": True,
                   "user": {"username": "oidc:jane@example.com", "groups": ["oidc:shop-developers", "system:authenticated"]},
                   "audiences": ["https://kubernetes.default.svc.cluster.local"]}})

    def access(verb, status):
        return {"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None, "managedFields": []},
                "spec": {"resourceAttributes": {"namespace": "remora", "verb": verb, "group": "remora.dev", "resource": "hubs"},
                         "user": "oidc:jane@example.com", "groups": ["oidc:shop-developers", "system:authenticated"]},
                "status": status}
    # RBAC has no opinion when nothing grants the verb: allowed false, no reason.
    write("subjectaccessreview-admin-denied.json", access("admin", {"allowed": False}))
    write("subjectaccessreview-editor-allowed.json", access("editor", {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "shop-developers/remora" of ClusterRole "remora-editor" to Group "oidc:shop-developers"'}))
    write("subjectaccessreview-viewer-denied.json", access("viewer", {"allowed": False}))


def nodes():
    """The nodes a kind cluster lists (kubelet versions in status.nodeInfo), all at v1.34,
    and the same cluster mid-upgrade with one node's kubelet left at v1.28; the API
    server's /version."""
    def node(name, kubelet, rv, n):
        return {"metadata": {"name": name, "uid": UID.format(n), "resourceVersion": rv, "creationTimestamp": "2026-11-20T09:00:00Z",
                             "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
                "spec": {"podCIDR": "10.244.%d.0/24" % n, "providerID": "kind://docker/kind/" + name},
                "status": {"nodeInfo": {"machineID": "m%d" % n, "systemUUID": "s%d" % n, "bootID": "b%d" % n, "kernelVersion": "6.1.0-27-amd64",
                                        "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion": "containerd://2.1.3",
                                        "kubeletVersion": kubelet, "kubeProxyVersion": kubelet, "operatingSystem": "linux", "architecture": "amd64"},
                           "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-28T09:10:00Z",
                                           "lastTransitionTime": "2026-11-20T09:00:30Z", "reason": "KubeletReady", "message": "kubelet is posting ready status"}]}}

    def node_list(rv, items):
        return {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}
    write("nodes-list.json", node_list("2100", [node("kind-control-plane", "v1.34.1", "2001", 50), node("kind-worker", "v1.34.1", "2002", 51), node("kind-worker2", "v1.34.1", "2003", 52)]))
    write("nodes-list-skewed.json", node_list("2200", [node("kind-control-plane", "v1.34.1", "2001", 50), node("kind-worker", "v1.34.1", "2002", 51), node("kind-worker2", "v1.28.15", "2103", 52)]))
    write("version.json", {"major": "1", "minor": "34", "emulationMajor": "1", "emulationMinor": "34", "minCompatibilityMajor": "1", "minCompatibilityMinor": "33",
                           "gitVersion": "v1.34.1", "gitCommit": "93248f9ae092f571eb870b7664c534bfc7d00f03", "gitTreeState": "clean",
                           "buildDate": "2025-09-09T19:44:50Z", "goVersion": "go1.24.6", "compiler": "gc", "platform": "linux/amd64"})


def install_objects():
    """What `remora check` reads of a chart install (the webhook configuration is the one
    webhook-certs/tests/data/api has, its caBundle filled in by the test)."""
    service = {"kind": "Service", "apiVersion": "v1",
               "metadata": {"name": "remora-injector", "namespace": "remora", "uid": UID.format(40), "resourceVersion": "1840",
                            "creationTimestamp": "2026-11-20T09:30:14Z", "labels": {"app.kubernetes.io/component": "injector"}},
               "spec": {"ports": [{"name": "webhook", "protocol": "TCP", "port": 443, "targetPort": "webhook"}],
                        "selector": {"app.kubernetes.io/component": "injector", "app.kubernetes.io/instance": "remora"},
                        "clusterIP": "10.96.112.4", "clusterIPs": ["10.96.112.4"], "type": "ClusterIP", "sessionAffinity": "None",
                        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
               "status": {"loadBalancer": {}}}
    write("service-remora-injector.json", service)
    def endpoint(ip, ready, name, node):
        return {"addresses": [ip], "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": "remora", "name": name, "uid": UID.format(41)}, "nodeName": node}
    slice_ = {"metadata": {"name": "remora-injector-h7k2p", "namespace": "remora", "uid": UID.format(42), "resourceVersion": "1861",
                           "generateName": "remora-injector-",
                           "labels": {"kubernetes.io/service-name": "remora-injector",
                                      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
              "addressType": "IPv4",
              "endpoints": [endpoint("10.244.1.20", True, "remora-injector-6d8f7c9b5-2xkq8", "kind-worker"),
                            endpoint("10.244.2.21", True, "remora-injector-6d8f7c9b5-9zt4m", "kind-worker2")],
              "ports": [{"name": "webhook", "protocol": "TCP", "port": 8443}]}
    write("endpointslices-remora-injector.json", {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                                                  "metadata": {"resourceVersion": "1870"}, "items": [slice_]})
    not_ready = copy.deepcopy(slice_)
    for e in not_ready["endpoints"]:
        e["conditions"] = {"ready": False, "serving": False, "terminating": False}
    write("endpointslices-remora-injector-not-ready.json", {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
                                                            "metadata": {"resourceVersion": "1890"}, "items": [not_ready]})
    def namespace(name, labels):
        base = {"kubernetes.io/metadata.name": name}
        base.update(labels)
        return {"metadata": {"name": name, "uid": UID.format(60 + len(name)), "resourceVersion": "90",
                             "creationTimestamp": "2026-11-20T09:00:00Z", "labels": base},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    write("namespaces-list.json", {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1900"}, "items": [
        namespace("default", {}), namespace("kube-system", {}), namespace("remora", {}),
        namespace("shop", {"remora.dev/inject": "enabled"}),
        namespace("payments", {"remora.dev/inject": "enabled", "pod-security.kubernetes.io/enforce": "restricted",
                               "pod-security.kubernetes.io/enforce-version": "latest"}),
    ]})
    pods = [
        pod("web-7c9f8b6d4-x2lkq", "shop", 1201, "10.244.1.5", "kind-worker", generate="web-7c9f8b6d4-", n=1,
            owner=("ReplicaSet", "web-7c9f8b6d4"), labels={"app": "web", "pod-template-hash": "7c9f8b6d4"}),
        pod("cart-5d4b9c7f6-q8zfn", "shop", 1219, "10.244.1.9", "kind-worker", sidecar=False, generate="cart-5d4b9c7f6-", n=3,
            owner=("ReplicaSet", "cart-5d4b9c7f6"), labels={"app": "cart", "pod-template-hash": "5d4b9c7f6"}),
        pod("db-0", "shop", 1188, "10.244.2.7", "kind-worker2", sidecar=False, n=2, owner=("StatefulSet", "db"),
            labels={"app": "db", "statefulset.kubernetes.io/pod-name": "db-0"}),
        pod("batch-x7k2m", "shop", 1230, "10.244.2.9", "kind-worker2", sidecar=False, n=5,
            labels={"app": "batch", "remora.dev/inject": "false"}),
        pod("node-agent-4kz9q", "shop", 1232, "172.18.0.4", "kind-worker2", sidecar=False, n=6, host_network=True,
            owner=("DaemonSet", "node-agent"), labels={"app": "node-agent"}),
        pod("coredns-76f75df574-8bq2n", "kube-system", 300, "10.244.0.3", "kind-worker", sidecar=False, n=7,
            owner=("ReplicaSet", "coredns-76f75df574"), labels={"k8s-app": "kube-dns", "pod-template-hash": "76f75df574"}),
    ]
    write("pods-list-coverage.json", pod_list(1950, pods))


def status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def probe_objects():
    """What `remora check`'s dry-run probe meets in opted-in namespaces: the refusals of
    the admission steps after Remora's webhook, as the API server words them (its own
    plugins: `pods "NAME" is forbidden: ...`; a webhook's: `admission webhook "NAME"
    denied the request: ...`, code 400 unless the webhook set one), the quotas, and the
    API server's webhook metrics."""
    probe = "remora-check-probe-x7k2p"
    details = {"name": probe, "kind": "pods"}
    write("status-probe-podsecurity.json", status(403, "Forbidden",
        f'pods "{probe}" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities '
        '(container "remora-sidecar" must not include "NET_RAW" in securityContext.capabilities.add)', details))
    scc_refused = ", ".join(f'provider "{p}": Forbidden: not usable by user or serviceaccount' for p in
                            ["restricted", "nonroot-v2", "nonroot", "hostmount-anyuid", "hostnetwork-v2", "hostnetwork", "hostaccess", "privileged"])
    write("status-probe-scc.json", status(403, "Forbidden",
        f'pods "{probe}" is forbidden: unable to validate against any security context constraint: '
        '[provider "anyuid": Forbidden: not usable by user or serviceaccount, '
        'provider restricted-v2: .initContainers[0].runAsUser: Invalid value: 0: must be in the ranges: [1000680000, 1000689999], '
        'provider restricted-v2: .initContainers[0].capabilities.add: Invalid value: "NET_RAW": capability may not be added, '
        + scc_refused + "]", details))
    write("status-probe-kyverno.json", status(400, None,
        'admission webhook "validate.kyverno.svc-fail" denied the request: \n\nresource Pod/billing/' + probe +
        ' was blocked due to the following policies\n\ndisallow-capabilities:\n  adding-capabilities: Any capabilities added'
        ' beyond the allowed list (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP,'
        ' SETGID, SETPCAP, SETUID, SYS_CHROOT) are disallowed.\n'))
    write("status-probe-gatekeeper.json", status(403, "Forbidden",
        'admission webhook "validation.gatekeeper.sh" denied the request: [psp-capabilities] container <remora-sidecar> '
        'has a disallowed capability. Allowed capabilities are []'))
    write("status-probe-quota.json", status(403, "Forbidden",
        f'pods "{probe}" is forbidden: exceeded quota: compute, requested: requests.cpu=60m, used: requests.cpu=1990m, limited: requests.cpu=2',
        details))
    write("status-probe-rbac.json", status(403, "Forbidden",
        'pods is forbidden: User "jane@example.com" cannot create resource "pods" in API group "" in the namespace "search"',
        {"kind": "pods"}))
    def namespace(name, labels):
        base = {"kubernetes.io/metadata.name": name, "remora.dev/inject": "enabled"}
        base.update(labels)
        return {"metadata": {"name": name, "uid": UID.format(80 + len(name)), "resourceVersion": "95",
                             "creationTimestamp": "2026-11-20T09:00:00Z", "labels": base},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    write("namespaces-list-probe.json", {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1910"}, "items": [
        namespace("shop", {}),
        namespace("payments", {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}),
        namespace("orders", {}), namespace("ledger", {}),
        namespace("billing", {}), namespace("search", {}), namespace("cart", {}), namespace("auth", {}), namespace("infra", {}),
    ]})
    def quota(name, namespace, hard, used, n):
        return {"metadata": {"name": name, "namespace": namespace, "uid": UID.format(90 + n), "resourceVersion": str(1920 + n),
                             "creationTimestamp": "2026-11-20T09:05:00Z"},
                "spec": {"hard": hard}, "status": {"hard": hard, "used": used}}
    write("resourcequotas-list.json", {"kind": "ResourceQuotaList", "apiVersion": "v1", "metadata": {"resourceVersion": "1930"}, "items": [
        quota("compute", "shop", {"requests.cpu": "8", "requests.memory": "16Gi", "limits.memory": "40Gi", "pods": "50"},
              {"requests.cpu": "5200m", "requests.memory": "9Gi", "limits.memory": "18Gi", "pods": "21"}, 1),
        quota("objects", "shop", {"count/configmaps": "40"}, {"count/configmaps": "12"}, 2),
        quota("compute", "cart", {"requests.cpu": "2", "requests.memory": "4Gi"}, {"requests.cpu": "1990m", "requests.memory": "3Gi"}, 3),
    ]})
    private = "registry.corp.example/mirror/remora-sidecar:0.1.0"
    pull = ("ImagePullBackOff", f'Back-off pulling image "{private}": ErrImagePull: failed to pull and unpack image '
            f'"{private}": failed to resolve reference "{private}": pull access denied, repository does not exist or may require authorization: '
            'authorization failed: no basic auth credentials')
    write("pods-list-image-pull.json", pod_list(1960, [
        pod("web-7c9f8b6d4-x2lkq", "shop", 1201, "10.244.1.5", "kind-worker", generate="web-7c9f8b6d4-", n=1,
            owner=("ReplicaSet", "web-7c9f8b6d4"), labels={"app": "web", "pod-template-hash": "7c9f8b6d4"}),
        pod("api-6b8d9f7c5-m4x9t", "shop", 1955, "10.244.1.12", "kind-worker", phase="Pending", generate="api-6b8d9f7c5-", n=8,
            owner=("ReplicaSet", "api-6b8d9f7c5"), labels={"app": "api", "pod-template-hash": "6b8d9f7c5"},
            sidecar_image=private, sidecar_waiting=pull),
        pod("api-6b8d9f7c5-r2d7w", "shop", 1957, "10.244.2.14", "kind-worker2", phase="Pending", generate="api-6b8d9f7c5-", n=9,
            owner=("ReplicaSet", "api-6b8d9f7c5"), labels={"app": "api", "pod-template-hash": "6b8d9f7c5"},
            sidecar_image=private, sidecar_waiting=pull),
    ]))
    lifecycle_objects()
    write_text("apiserver-metrics.txt", metrics(fail_open=0))
    write_text("apiserver-metrics-fail-open.txt", metrics(fail_open=7))


def lifecycle_objects():
    """What `remora check` reads of the install's own workloads: the injector's settings
    ConfigMap as the chart renders it (the sidecar image of the install: 0.1.0, and 0.2.0
    after an upgrade), the hub's Deployment available and not, and pods whose sidecar
    crash-loops, is not ready, or was injected by the older install."""
    def settings(tag):
        return {"kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": "remora-injector", "namespace": "remora", "uid": UID.format(23), "resourceVersion": "2040",
                             "creationTimestamp": "2026-11-28T09:00:00Z",
                             "labels": {"app.kubernetes.io/component": "injector", "app.kubernetes.io/managed-by": "Helm"},
                             "annotations": {"meta.helm.sh/release-name": "remora", "meta.helm.sh/release-namespace": "remora"}},
                "data": {"settings.yaml": f'image: "ghcr.io/remora-dev/remora-sidecar:{tag}"\nimagePullPolicy: "IfNotPresent"\n'
                                          'imagePullSecrets: []\ncontrolPlaneNamespace: "remora"\nhealthPort: 15090\n'}}
    write("configmap-remora-injector.json", settings("0.1.0"))
    write("configmap-remora-injector-upgraded.json", settings("0.2.0"))

    def deployment(available):
        status = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1}
        if available:
            status.update({"readyReplicas": 1, "availableReplicas": 1, "conditions": [
                {"type": "Available", "status": "True", "lastUpdateTime": "2026-11-28T09:01:10Z", "lastTransitionTime": "2026-11-28T09:01:10Z",
                 "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                {"type": "Progressing", "status": "True", "lastUpdateTime": "2026-11-28T09:01:10Z", "lastTransitionTime": "2026-11-28T09:00:02Z",
                 "reason": "NewReplicaSetAvailable", "message": "ReplicaSet \"remora-hub-5f6d7c8b9\" has successfully progressed."}]})
        else:
            status.update({"unavailableReplicas": 1, "conditions": [
                {"type": "Available", "status": "False", "lastUpdateTime": "2026-11-28T10:12:40Z", "lastTransitionTime": "2026-11-28T10:12:40Z",
                 "reason": "MinimumReplicasUnavailable", "message": "Deployment does not have minimum availability."},
                {"type": "Progressing", "status": "True", "lastUpdateTime": "2026-11-28T10:12:40Z", "lastTransitionTime": "2026-11-28T09:00:02Z",
                 "reason": "ReplicaSetUpdated", "message": "ReplicaSet \"remora-hub-5f6d7c8b9\" is progressing."}]})
        return {"kind": "Deployment", "apiVersion": "apps/v1",
                "metadata": {"name": "remora-hub", "namespace": "remora", "uid": UID.format(24), "resourceVersion": "2050", "generation": 2,
                             "creationTimestamp": "2026-11-28T09:00:00Z", "labels": {"app.kubernetes.io/component": "hub"}},
                "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                         "selector": {"matchLabels": {"app.kubernetes.io/component": "hub"}},
                         "template": {"metadata": {"labels": {"app.kubernetes.io/component": "hub"}},
                                      "spec": {"containers": [{"name": "hub", "image": "ghcr.io/remora-dev/remora-hub:0.1.0"}]}}},
                "status": status}
    write("deployment-remora-hub.json", deployment(True))

    # `GET /api/v1/namespaces/remora/pods?labelSelector=app.kubernetes.io/component=hub`:
    # the hub's pod as the chart runs it (without hub TLS), Running and Ready.
    hub_pod = {"metadata": {"name": "remora-hub-5f6d7c8b9-k2x7q", "generateName": "remora-hub-5f6d7c8b9-", "namespace": "remora",
                            "uid": UID.format(25), "resourceVersion": "2055", "creationTimestamp": "2026-11-28T09:00:03Z",
                            "labels": {"app.kubernetes.io/component": "hub", "app.kubernetes.io/instance": "remora",
                                       "app.kubernetes.io/name": "remora", "pod-template-hash": "5f6d7c8b9", "remora.dev/inject": "false"}},
               "spec": {"serviceAccountName": "remora-hub", "nodeName": "kind-worker",
                        "containers": [{"name": "hub", "image": "ghcr.io/remora-dev/remora-hub:0.1.0",
                                        "args": ["--listen=0.0.0.0:8898", "--api-listen=0.0.0.0:8899", "--data-dir=/var/lib/remora",
                                                 "--token-file=/etc/remora/hub/tokens", "--token-secret=remora-hub-tokens", "--kube",
                                                 "--scripts-configmap=remora-scripts", "--env-secret=remora-env",
                                                 "--token-review-audience=remora-hub", "--log=info"],
                                        "ports": [{"name": "sidecars", "containerPort": 8898, "protocol": "TCP"},
                                                  {"name": "api", "containerPort": 8899, "protocol": "TCP"}]}],
                        "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "2Gi"}},
                                    {"name": "tokens", "secret": {"secretName": "remora-hub-tokens", "optional": True, "defaultMode": 420}}]},
               "status": {"phase": "Running", "podIP": "10.244.1.40", "podIPs": [{"ip": "10.244.1.40"}], "hostIP": "172.18.0.3",
                          "startTime": "2026-11-28T09:00:03Z", "qosClass": "Burstable",
                          "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": "2026-11-28T09:00:09Z"}],
                          "containerStatuses": [{"name": "hub", "image": "ghcr.io/remora-dev/remora-hub:0.1.0", "imageID": "ghcr.io/remora-dev/remora-hub@sha256:" + "ef" * 32,
                                                 "containerID": "containerd://" + "%064x" % 250, "ready": True, "restartCount": 0, "started": True,
                                                 "state": {"running": {"startedAt": "2026-11-28T09:00:05Z"}}, "lastState": {}}]}}
    write("pods-list-hub.json", {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "2056"}, "items": [hub_pod]})
    write("deployment-remora-hub-unavailable.json", deployment(False))

    crash = ("CrashLoopBackOff", "back-off 2m40s restarting failed container=remora-sidecar pod=cart-6f9c7d5b8-p7q2x_shop(" + UID.format(31) + ")")
    crashing = pod("cart-6f9c7d5b8-p7q2x", "shop", 1971, "10.244.1.21", "kind-worker", generate="cart-6f9c7d5b8-", n=31,
                   owner=("ReplicaSet", "cart-6f9c7d5b8"), labels={"app": "cart", "pod-template-hash": "6f9c7d5b8"},
                   sidecar_waiting=crash)
    crashing["status"]["phase"] = "Pending"
    crashing["status"]["initContainerStatuses"][0].update({"restartCount": 5, "lastState": {"terminated": {
        "exitCode": 1, "reason": "Error", "startedAt": "2026-11-28T10:20:01Z", "finishedAt": "2026-11-28T10:20:02Z",
        "containerID": "containerd://" + "%064x" % 331}}})
    unready = pod("db-0", "shop", 1972, "10.244.2.22", "kind-worker2", n=32, owner=("StatefulSet", "db"), labels={"app": "db"})
    unready["status"]["initContainerStatuses"][0]["ready"] = False
    write("pods-list-sidecars.json", pod_list(1980, [
        pod("web-7c9f8b6d4-x2lkq", "shop", 1201, "10.244.1.5", "kind-worker", generate="web-7c9f8b6d4-", n=1,
            owner=("ReplicaSet", "web-7c9f8b6d4"), labels={"app": "web", "pod-template-hash": "7c9f8b6d4"}),
        crashing, unready,
    ]))


def metrics(fail_open):
    """An excerpt of a v1.34 API server's /metrics: its calls to Remora's webhook and to
    another (the series every webhook call adds)."""
    lines = []
    def histogram(name, webhook, kind, counts, total):
        labels = f'name="{webhook}",operation="CREATE",rejected="false",type="{kind}"'
        for le, c in zip(["0.005", "0.025", "0.1", "0.5", "1", "2.5", "10", "25", "+Inf"], counts):
            lines.append(f'{name}_bucket{{{labels},le="{le}"}} {c}')
        lines.append(f"{name}_sum{{{labels}}} {total}")
        lines.append(f"{name}_count{{{labels}}} {counts[-1]}")
    lines.append("# HELP apiserver_admission_webhook_admission_duration_seconds [STABLE] Admission webhook latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).")
    lines.append("# TYPE apiserver_admission_webhook_admission_duration_seconds histogram")
    histogram("apiserver_admission_webhook_admission_duration_seconds", "inject.remora.dev", "admit",
              [12, 301, 398, 412, 412, 412, 412 + fail_open, 412 + fail_open, 412 + fail_open], 9.84 + 10 * fail_open)
    histogram("apiserver_admission_webhook_admission_duration_seconds", "validate.kyverno.svc-fail", "validating",
              [80, 640, 702, 702, 702, 702, 702, 702, 702], 11.2)
    if fail_open:
        lines.append("# HELP apiserver_admission_webhook_fail_open_count [ALPHA] Admission webhook fail open count, identified by name and broken out for each admission type (validating or admit).")
        lines.append("# TYPE apiserver_admission_webhook_fail_open_count counter")
        lines.append(f'apiserver_admission_webhook_fail_open_count{{name="inject.remora.dev",type="admit"}} {fail_open}')
        lines.append("# HELP apiserver_admission_webhook_rejection_count [ALPHA] Admission webhook rejection count, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.")
        lines.append("# TYPE apiserver_admission_webhook_rejection_count counter")
        lines.append(f'apiserver_admission_webhook_rejection_count{{error_type="calling_webhook_error",name="inject.remora.dev",operation="CREATE",rejection_code="0",type="admit"}} {fail_open}')
    lines.append("# HELP apiserver_admission_webhook_request_total [ALPHA] Admission webhook request total, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify whether the request was rejected or not and an HTTP status code. Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.")
    lines.append("# TYPE apiserver_admission_webhook_request_total counter")
    lines.append('apiserver_admission_webhook_request_total{code="200",name="inject.remora.dev",operation="CREATE",rejected="false",type="admit"} 412')
    if fail_open:
        lines.append(f'apiserver_admission_webhook_request_total{{code="0",name="inject.remora.dev",operation="CREATE",rejected="true",type="admit"}} {fail_open}')
    lines.append('apiserver_admission_webhook_request_total{code="200",name="validate.kyverno.svc-fail",operation="CREATE",rejected="false",type="validating"} 702')
    return "\n".join(lines) + "\n"


def write_text(name, text):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
    scripts_objects()
    token_reviews()
    access_reviews()
    nodes()
    install_objects()
    probe_objects()
