//! The script host: one QuickJS runtime, the loaded scripts and their hooks, and the
//! containment (time budget per call, memory limit) around every call into them.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use rquickjs::context::EvalOptions;
use rquickjs::function::IntoArgs;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Runtime, Value};

use crate::budget::Budget;
use crate::cluster::{Cluster, ClusterRequest, Role};
use crate::console::{ConsoleLine, ConsoleSink, Level};
use crate::failures::{Failure, Failures};
use crate::helpers;
use crate::jobs::{Clock, Scheduler};
use crate::node::Node;
use crate::load::{script_name, wrap, HOOK_NAMES};
use crate::lazy_item;
use crate::metrics::ScriptMetrics;
use crate::packet_info::{self, PacketInfo};
use crate::sandbox::Sandbox;
use remora_model::Item;

/// What the host needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// `env` in scripts.
    pub env: BTreeMap<String, String>,
    /// The one directory `file.*` may touch (created when missing).
    pub data_dir: PathBuf,
    /// Where the per-stream PCAP files are (`pcap.path`, `pcap.snapshot`).
    pub pcap_dir: Option<PathBuf>,
    /// The scripts' share of the data volume's byte quota, shared by every host of the
    /// process (and the PCAP retention, which keeps to the rest).
    pub data_usage: std::sync::Arc<crate::sandbox::DataUsage>,
    /// Longest a single call into a script may run JavaScript.
    pub call_budget: Duration,
    /// Longest a single call may wait on the network inside helpers, in all.
    pub network_budget: Duration,
    /// The node the scripts run for (S3/GCS folders, `utils.nodeName`).
    pub node: Node,
    /// Memory the JavaScript heap may use.
    pub memory_limit: usize,
    pub clock: Clock,
    /// Offline, sidecar or hub: where jobs fire and `hub.action` goes.
    pub role: Role,
    /// Where `prometheus.*` keep the scripts' metrics (the process shows them on its
    /// /metrics; pass the same one to every host it starts).
    pub metrics: ScriptMetrics,
    /// Every script failure (each throw, not only the first of its kind), shared by the
    /// hosts of a process for its /metrics.
    pub failures_total: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl HostConfig {
    pub fn new(data_dir: PathBuf) -> Self {
        HostConfig {
            env: BTreeMap::new(),
            data_dir,
            pcap_dir: None,
            data_usage: crate::sandbox::DataUsage::unlimited(),
            call_budget: Duration::from_millis(250),
            network_budget: Duration::from_secs(30),
            node: Node::local(),
            memory_limit: 256 << 20,
            clock: Clock::Wall,
            role: Role::Offline,
            metrics: ScriptMetrics::new(),
            failures_total: Default::default(),
        }
    }
}

/// The hooks Remora calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    PacketCaptured,
    ItemCaptured,
    ItemQueried,
    HubAction,
    PodEvent,
    JobPassed,
    JobFailed,
}

impl Hook {
    pub const ALL: [Hook; 7] = [Hook::PacketCaptured, Hook::ItemCaptured, Hook::ItemQueried, Hook::HubAction, Hook::PodEvent, Hook::JobPassed, Hook::JobFailed];

    fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        HOOK_NAMES[self.index()]
    }
}

/// What loading one script found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSummary {
    pub name: String,
    pub hooks: Vec<&'static str>,
}

/// Counts for the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostReport {
    pub scripts: usize,
    pub hook_calls: u64,
    pub job_runs: u64,
    pub failures: Vec<Failure>,
    /// Job fire times skipped after a long capture gap.
    pub skipped_fires: u64,
    /// Bytes the JavaScript heap holds now.
    pub heap_bytes: u64,
    /// The scripts' `prometheus.*` metrics as Prometheus text (empty without any).
    pub metrics: String,
}

/// State the helpers share with the host. Borrowed briefly, never across a call into
/// JavaScript (a helper may run while a hook is on the stack).
pub(crate) struct Shared {
    pub console: Box<dyn ConsoleSink>,
    /// The script whose code is running (for console lines and jobs).
    pub current_script: Rc<str>,
    pub env: BTreeMap<String, String>,
    pub sandbox: Sandbox,
    pub pcap_dir: Option<PathBuf>,
    pub scheduler: Scheduler,
    /// `setTimeout`/`setInterval` callbacks waiting for the clock.
    pub timers: crate::timers::Timers,
    pub clock: Clock,
    /// The clock's time, ns since the epoch (capture time in replay).
    pub now: Option<i64>,
    /// Requests for the hub (sidecar, hub roles) and what it says of the cluster's jobs.
    pub cluster: Cluster,
    /// `hub.action` calls, delivered to `onHubAction` after the current call.
    pub hub_actions: VecDeque<(String, Persistent<Value<'static>>)>,
    /// IP → (name, namespace) as of each UNIX time (`pcap.nameResolutionHistory`).
    pub name_history: crate::NameHistory,
    /// Writes out buffered per-stream PCAP data before `pcap.snapshot` reads it.
    pub pcap_flush: Option<Box<dyn FnMut()>>,
    /// Compiled `kfl.match` queries.
    pub kfl: crate::helpers::kfl::QueryCache,
    pub budget: Rc<Budget>,
    pub node: Node,
    /// The HTTP client and runtime of the network helpers, made on first use.
    pub net: Option<Rc<crate::net::Net>>,
    pub metrics: ScriptMetrics,
    /// What `hub.targeted()` answers (JSON), where the process watches pods.
    pub targeted: Option<Box<dyn Fn() -> String>>,
}

impl Shared {
    pub fn log(&mut self, level: Level, text: String) {
        let script = self.current_script.to_string();
        self.console.line(ConsoleLine { level, script, text });
    }

    pub fn flush_pcaps(&mut self) {
        if let Some(flush) = &mut self.pcap_flush {
            flush();
        }
    }

    pub fn now_ns(&self) -> i64 {
        match (self.clock, self.now) {
            (Clock::Capture, Some(now)) => now,
            _ => wall_ns(),
        }
    }
}

pub(crate) fn wall_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

struct Script {
    name: Rc<str>,
    hooks: [Option<Persistent<Function<'static>>>; 7],
}

pub struct ScriptHost {
    // Field order matters: persistent values must drop before the context and runtime.
    scripts: Vec<Script>,
    /// Makes lazy `data` objects (see `lazy_item`).
    item_factory: lazy_item::Factory,
    /// Makes `info` objects (see `packet_info`).
    info_maker: packet_info::InfoMaker,
    shared: Rc<RefCell<Shared>>,
    context: Context,
    runtime: Runtime,
    budget: Rc<Budget>,
    failures: Failures,
    failures_total: std::sync::Arc<std::sync::atomic::AtomicU64>,
    hook_calls: u64,
    job_runs: u64,
    /// Whether any script defines each hook.
    hook_present: [bool; 7],
}

/// Converts a caught JavaScript error into (location, message).
fn describe(error: CaughtError<'_>, budget: Duration) -> (String, String) {
    match error {
        CaughtError::Exception(e) => {
            let message = e.message().unwrap_or_default();
            let stack = e.stack().unwrap_or_default();
            let location = location_in(&stack).unwrap_or_default();
            let message = match message.as_str() {
                "interrupted" => format!("stopped: ran past its time budget of {} ms", budget.as_millis()),
                "out of memory" => "stopped: out of memory (the script heap limit was reached)".into(),
                _ => message,
            };
            (location, message)
        }
        CaughtError::Value(v) => {
            let text = v.as_string().and_then(|s| s.to_string().ok()).unwrap_or_else(|| format!("{v:?}"));
            (String::new(), format!("threw {text}"))
        }
        CaughtError::Error(rquickjs::Error::Allocation) => (String::new(), "stopped: out of memory (the script heap limit was reached)".into()),
        CaughtError::Error(e) => (String::new(), e.to_string()),
    }
}

/// `file.js:12` from the first frame of a QuickJS stack trace that names a file.
fn location_in(stack: &str) -> Option<String> {
    stack.lines().find_map(|line| {
        let line = line.trim().strip_prefix("at ")?;
        let inner = match (line.rfind('('), line.rfind(')')) {
            (Some(open), Some(close)) if open < close => &line[open + 1..close],
            _ => line,
        };
        let mut parts = inner.split(':');
        let file = parts.next()?;
        let row = parts.next()?;
        (file.ends_with(".js") && row.chars().all(|c| c.is_ascii_digit())).then(|| format!("{file}:{row}"))
    })
}

impl Drop for ScriptHost {
    /// Values the helpers keep (job functions, queued hub actions) belong to the runtime:
    /// they must go before it does.
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.scheduler.jobs.clear();
        shared.scheduler.requested.clear();
        shared.hub_actions.clear();
        shared.pcap_flush = None;
        shared.targeted = None;
    }
}

impl ScriptHost {
    pub fn new(config: HostConfig, console: Box<dyn ConsoleSink>) -> Result<ScriptHost, String> {
        let runtime = Runtime::new().map_err(|e| format!("cannot start the JavaScript runtime: {e}"))?;
        runtime.set_memory_limit(config.memory_limit);
        runtime.set_max_stack_size(1 << 20);
        let budget = Rc::new(Budget::new(config.call_budget, config.network_budget));
        runtime.set_interrupt_handler(Some(Box::new(budget.interrupter())));
        let context = Context::full(&runtime).map_err(|e| format!("cannot create the JavaScript context: {e}"))?;
        let sandbox = Sandbox::new(&config.data_dir, config.data_usage.clone()).map_err(|e| format!("data directory {}: {e}", config.data_dir.display()))?;
        let shared = Rc::new(RefCell::new(Shared {
            console,
            current_script: Rc::from("remora"),
            env: config.env.clone(),
            sandbox,
            pcap_dir: config.pcap_dir.clone(),
            scheduler: Scheduler::default(),
            timers: crate::timers::Timers::default(),
            clock: config.clock,
            now: None,
            cluster: Cluster::new(config.role),
            hub_actions: VecDeque::new(),
            name_history: BTreeMap::new(),
            pcap_flush: None,
            kfl: Default::default(),
            budget: budget.clone(),
            node: config.node.clone(),
            net: None,
            metrics: config.metrics.clone(),
            targeted: None,
        }));
        context.with(|ctx| helpers::install(&ctx, &shared)).map_err(|e| format!("cannot install the helpers: {e}"))?;
        let item_factory = context.with(|ctx| lazy_item::factory(&ctx)).map_err(|e| format!("cannot install the item factory: {e}"))?;
        let info_maker = context.with(|ctx| packet_info::InfoMaker::new(&ctx)).map_err(|e| format!("cannot install the packet info factory: {e}"))?;
        Ok(ScriptHost {
            scripts: Vec::new(),
            shared,
            context,
            runtime,
            budget,
            failures: Failures::default(),
            failures_total: config.failures_total.clone(),
            hook_calls: 0,
            job_runs: 0,
            hook_present: [false; 7],
            item_factory,
            info_maker,
        })
    }

    /// Loads and runs one script's top level. A syntax error or a throwing top level is
    /// reported (file, line, message) and returned; other scripts are unaffected.
    pub fn load_file(&mut self, path: &Path) -> Result<ScriptSummary, String> {
        let name = script_name(path);
        let source = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        self.load_source(&name, &source)
    }

    pub fn load_source(&mut self, name: &str, source: &str) -> Result<ScriptSummary, String> {
        let script_name: Rc<str> = Rc::from(name);
        self.shared.borrow_mut().current_script = script_name.clone();
        let wrapped = wrap(source);
        let options = {
            let mut o = EvalOptions::default();
            o.strict = false;
            o.filename = Some(name.to_string());
            o
        };
        self.arm();
        let loaded = self.context.with(|ctx| -> Result<[Option<Persistent<Function<'static>>>; 7], (String, String)> {
            let hooks: Object = ctx.eval_with_options(wrapped, options).catch(&ctx).map_err(|e| describe(e, self.budget.cpu))?;
            let mut found: [Option<Persistent<Function<'static>>>; 7] = Default::default();
            for hook in Hook::ALL {
                if let Ok(f) = hooks.get::<_, Function>(hook.name()) {
                    found[hook.index()] = Some(Persistent::save(&ctx, f));
                }
            }
            Ok(found)
        });
        self.disarm();
        self.after_call();
        match loaded {
            Ok(hooks) => {
                let summary = ScriptSummary { name: name.to_string(), hooks: Hook::ALL.iter().filter(|h| hooks[h.index()].is_some()).map(|h| h.name()).collect() };
                for hook in Hook::ALL {
                    self.hook_present[hook.index()] |= hooks[hook.index()].is_some();
                }
                self.scripts.push(Script { name: script_name, hooks });
                Ok(summary)
            }
            Err((location, message)) => {
                let location = if location.is_empty() { name.to_string() } else { location };
                self.fail(name, "load", &location, &message);
                Err(format!("{location}: {message}"))
            }
        }
    }

    /// Called before `pcap.snapshot` reads the per-stream files, to flush their writers.
    pub fn set_pcap_flush(&mut self, flush: Box<dyn FnMut()>) {
        self.shared.borrow_mut().pcap_flush = Some(flush);
    }

    /// Where `pcap.path` and `pcap.snapshot` find the per-stream files.
    pub fn set_pcap_dir(&mut self, dir: Option<PathBuf>) {
        self.shared.borrow_mut().pcap_dir = dir;
    }

    /// What `hub.targeted()` returns (JSON text), asked at each call.
    pub fn set_targeted(&mut self, targeted: Box<dyn Fn() -> String>) {
        self.shared.borrow_mut().targeted = Some(targeted);
    }

    /// The metrics the scripts defined (`prometheus.*`).
    pub fn metrics(&self) -> ScriptMetrics {
        self.shared.borrow().metrics.clone()
    }

    /// The name resolution history `pcap.nameResolutionHistory()` returns.
    pub fn set_name_history(&mut self, history: crate::NameHistory) {
        self.shared.borrow_mut().name_history = history;
    }

    /// Every helper function the scripts can call, as `ns.name` (`jobs.scheduler.stop`).
    pub fn helper_names(&self) -> Vec<String> {
        const LIST: &str = r#"(function () {
            var out = [];
            function walk(prefix, object, depth) {
                for (var key in object) {
                    var value = object[key];
                    if (typeof value === 'function') out.push(prefix + key);
                    else if (value && typeof value === 'object' && depth < 3) walk(prefix + key + '.', value, depth + 1);
                }
            }
            ['console', 'test', 'file', 'pcap', 'jobs', 'hub', 'kfl', 'vendor', 'chatgpt', 'wrapper', 'utils', 'prometheus'].forEach(function (ns) {
                if (this[ns]) walk(ns + '.', this[ns], 0);
            }, this);
            return out;
        }).call(this)"#;
        self.context.with(|ctx| ctx.eval::<Vec<String>, _>(LIST).unwrap_or_default())
    }

    pub fn has_hook(&self, hook: Hook) -> bool {
        self.hook_present[hook.index()]
    }

    pub fn report(&self) -> HostReport {
        HostReport {
            scripts: self.scripts.len(),
            hook_calls: self.hook_calls,
            job_runs: self.job_runs,
            failures: self.failures.list(),
            skipped_fires: self.shared.borrow().scheduler.skipped,
            heap_bytes: self.runtime.memory_usage().malloc_size.max(0) as u64,
            metrics: self.shared.borrow().metrics.render(),
        }
    }

    /// Tags of the scheduled jobs with their cron and limit.
    pub fn jobs(&self) -> Vec<(String, String, u64)> {
        self.shared.borrow().scheduler.jobs.values().map(|j| (j.tag.clone(), j.cron.clone(), j.limit)).collect()
    }

    fn arm(&self) {
        self.budget.arm();
    }

    fn disarm(&self) {
        self.budget.disarm();
    }

    fn fail(&mut self, script: &str, during: &str, location: &str, message: &str) {
        self.failures_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.failures.record(script, during, location, message) {
            let at = if location.is_empty() { String::new() } else { format!(" at {location}") };
            self.shared.borrow_mut().console.line(ConsoleLine {
                level: Level::Error,
                script: script.to_string(),
                text: format!("{during} failed{at}: {message} (reported once; later repeats are counted)"),
            });
        }
    }

    /// Calls `hook` of every script that has it, in load order, with arguments made
    /// afresh in the context by `args`. Returns each call's result.
    fn call_each<'js, A, F>(&mut self, ctx: &Ctx<'js>, hook: Hook, mut args: F) -> Vec<Value<'js>>
    where
        F: FnMut(&Ctx<'js>) -> rquickjs::Result<A>,
        A: IntoArgs<'js>,
    {
        let mut results = Vec::new();
        for index in 0..self.scripts.len() {
            let Some(function) = self.scripts[index].hooks[hook.index()].clone() else { continue };
            let name = self.scripts[index].name.clone();
            if let Some(value) = self.call_one(ctx, &name, hook.name(), function, &mut args) {
                results.push(value);
            }
        }
        results
    }

    fn call_one<'js, A, F>(&mut self, ctx: &Ctx<'js>, script: &Rc<str>, during: &str, function: Persistent<Function<'static>>, args: &mut F) -> Option<Value<'js>>
    where
        F: FnMut(&Ctx<'js>) -> rquickjs::Result<A>,
        A: IntoArgs<'js>,
    {
        self.shared.borrow_mut().current_script = script.clone();
        self.hook_calls += 1;
        let result = (|| {
            let function = function.restore(ctx)?;
            let args = args(ctx)?;
            self.arm();
            let result = function.call::<A, Value>(args);
            self.disarm();
            result
        })()
        .catch(ctx);
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                let (location, message) = describe(error, self.budget.cpu);
                self.fail(script, during, &location, &message);
                // Give a script that blew its heap room to run again.
                ctx.run_gc();
                None
            }
        }
    }

    /// Work that helpers queued for after the current call: `hub.action` deliveries
    /// and `jobs.run` requests.
    fn after_call(&mut self) {
        for _ in 0..64 {
            let action = self.shared.borrow_mut().hub_actions.pop_front();
            let requested = self.shared.borrow_mut().scheduler.requested.pop_front();
            if action.is_none() && requested.is_none() {
                return;
            }
            if let Some((name, object)) = action {
                let context = self.context.clone();
                context.with(|ctx| {
                    self.call_each(&ctx, Hook::HubAction, |ctx| Ok((name.clone(), object.clone().restore(ctx)?)));
                });
            }
            if let Some(tag) = requested {
                self.run_job(&tag);
            }
        }
    }

    /// `onPacketCaptured(info)`.
    pub fn on_packet(&mut self, packet: &PacketInfo<'_>) {
        if !self.has_hook(Hook::PacketCaptured) {
            return;
        }
        let context = self.context.clone();
        context.with(|ctx| {
            let Ok(info) = self.info_maker.make(&ctx, packet) else { return };
            self.call_each(&ctx, Hook::PacketCaptured, |_| Ok((info.clone(),)));
        });
        self.after_call();
    }

    /// `onItemCaptured(data)`, then, with `query`, `onItemQueried(data)` (as the
    /// dashboard calls it, the returned object replacing `data` for the next script).
    /// `data` is built lazily from the item; the item comes back with the `passed` and
    /// `failed` that the hooks set (`test.pass`, `test.fail`).
    pub fn on_item(&mut self, item: Item, query: bool) -> Item {
        let captured = self.has_hook(Hook::ItemCaptured);
        let queried = query && self.has_hook(Hook::ItemQueried);
        if !captured && !queried {
            return item;
        }
        let item = Rc::new(item);
        let context = self.context.clone();
        let flags = context.with(|ctx| {
            let Ok(proxy) = lazy_item::make(&ctx, &self.item_factory, &item) else { return None };
            let mut data = proxy.clone();
            if captured {
                self.call_each(&ctx, Hook::ItemCaptured, |_| Ok((data.clone(),)));
            }
            if queried {
                data = self.query_chain(&ctx, data);
            }
            if data == proxy {
                return Some(lazy_item::verdict(&ctx, &self.item_factory));
            }
            // onItemQueried returned another object: its fields say.
            let object = data.as_object()?;
            Some((object.get::<_, Option<bool>>("passed").ok().flatten().unwrap_or(false), object.get::<_, Option<bool>>("failed").ok().flatten().unwrap_or(false)))
        });
        self.after_call();
        let mut item = lazy_item::reclaim(item);
        if let Some((passed, failed)) = flags {
            item.passed |= passed;
            item.failed |= failed;
        }
        item
    }

    /// Calls every script's `onItemQueried`: an object one returns is `data` for the
    /// next, and the last is the answer.
    fn query_chain<'js>(&mut self, ctx: &Ctx<'js>, mut data: Value<'js>) -> Value<'js> {
        for index in 0..self.scripts.len() {
            let Some(function) = self.scripts[index].hooks[Hook::ItemQueried.index()].clone() else { continue };
            let name = self.scripts[index].name.clone();
            let current = data.clone();
            if let Some(returned) = self.call_one(ctx, &name, Hook::ItemQueried.name(), function, &mut |_| Ok((current.clone(),))) {
                if returned.is_object() {
                    data = returned;
                }
            }
        }
        data
    }

    /// `onItemQueried(data)`: each script's returned object replaces the item for the
    /// next; the last is the answer (JSON). No hook or no object returned: unchanged.
    pub fn on_item_queried(&mut self, item_json: &str) -> String {
        if !self.has_hook(Hook::ItemQueried) {
            return item_json.to_string();
        }
        let context = self.context.clone();
        let answer = context.with(|ctx| {
            let Ok(data) = ctx.json_parse(item_json) else { return item_json.to_string() };
            let data = lazy_item::legacy(&ctx, &self.item_factory, data.clone()).unwrap_or(data);
            let data = self.query_chain(&ctx, data);
            ctx.json_stringify(data).ok().flatten().and_then(|s| s.to_string().ok()).unwrap_or_else(|| item_json.to_string())
        });
        self.after_call();
        answer
    }

    /// `onHubAction(action, object)` with the object as JSON.
    pub fn on_hub_action(&mut self, action: &str, object_json: &str) {
        let context = self.context.clone();
        context.with(|ctx| {
            let Ok(object) = ctx.json_parse(object_json) else { return };
            self.call_each(&ctx, Hook::HubAction, |_| Ok((action.to_string(), object.clone())));
        });
        self.after_call();
    }

    /// `onPodEvent(event)` with the event as JSON.
    pub fn on_pod_event(&mut self, event_json: &str) {
        let context = self.context.clone();
        context.with(|ctx| {
            let Ok(event) = ctx.json_parse(event_json) else { return };
            self.call_each(&ctx, Hook::PodEvent, |_| Ok((event.clone(),)));
        });
        self.after_call();
    }

    /// What the scripts asked of the cluster since the last call (`jobs.*` in the
    /// sidecar and hub roles, `hub.action` in the sidecar role), oldest first, and how
    /// many requests were dropped because too many waited.
    pub fn take_requests(&mut self) -> (Vec<ClusterRequest>, u64) {
        let mut shared = self.shared.borrow_mut();
        let overflowed = std::mem::take(&mut shared.cluster.overflowed);
        (shared.cluster.waiting.drain(..).collect(), overflowed)
    }

    /// Runs the jobs the hub fired, those of them that these scripts scheduled (a job
    /// scheduled by one pod's script alone is that pod's).
    pub fn run_jobs(&mut self, tags: &[String]) {
        for tag in tags {
            if self.shared.borrow().scheduler.jobs.contains_key(tag) {
                self.run_job(tag);
            }
        }
    }

    /// What the hub says of the cluster's jobs: `jobs.list()` and
    /// `jobs.scheduler.isRunning()` answer from it; `removed` jobs are dropped here too.
    pub fn set_cluster_jobs(&mut self, jobs: Vec<remora_model::wire::JobInfo>, running: bool, removed: &[String]) {
        let mut shared = self.shared.borrow_mut();
        shared.cluster.jobs = jobs;
        shared.cluster.running = running;
        for tag in removed {
            shared.scheduler.jobs.remove(tag);
        }
    }

    pub fn role(&self) -> Role {
        self.shared.borrow().cluster.role
    }

    /// Forgets the clock's time (a new capture starts); jobs fire again from the next
    /// time given.
    pub fn reset_clock(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.now = None;
        shared.scheduler.reset();
        shared.timers.forget_clock();
    }

    /// Moves the clock to `now_ns` (capture time in replay) and runs the jobs and timers
    /// due.
    pub fn advance_clock(&mut self, now_ns: i64) {
        let due = {
            let mut shared = self.shared.borrow_mut();
            if shared.now.is_some_and(|n| n >= now_ns) {
                return;
            }
            shared.now = Some(now_ns);
            // In a cluster the hub's cron fires the jobs (`run_jobs`).
            if shared.cluster.role.cluster_jobs() { Vec::new() } else { shared.scheduler.due(now_ns) }
        };
        for tag in due {
            self.run_job(&tag);
        }
        self.run_timers(now_ns);
    }

    /// Calls a kept function with its kept arguments as `script`'s code, under the
    /// budgets; a throw is reported as a failure during `during`, and its message returned.
    fn call_saved(&mut self, ctx: &Ctx<'_>, script: &str, during: &str, function: Persistent<Function<'static>>, args: Vec<Persistent<Value<'static>>>) -> Option<String> {
        self.shared.borrow_mut().current_script = Rc::from(script);
        let outcome = (|| {
            let function = function.restore(ctx)?;
            let mut call_args = rquickjs::function::Args::new(ctx.clone(), args.len());
            for arg in args {
                call_args.push_arg(arg.restore(ctx)?)?;
            }
            self.arm();
            let result = function.call_arg::<Value>(call_args);
            self.disarm();
            result
        })()
        .catch(ctx);
        let e = outcome.err()?;
        let (location, message) = describe(e, self.budget.cpu);
        self.fail(script, during, &location, &message);
        Some(message)
    }

    /// Runs the `setTimeout`/`setInterval` callbacks due at `now`, oldest first.
    fn run_timers(&mut self, now: i64) {
        for _ in 0..crate::timers::MAX_FIRES_PER_ADVANCE {
            let Some((id, timer)) = self.shared.borrow_mut().timers.take_due(now) else { return };
            let what = if timer.every_ns.is_some() { "setInterval callback" } else { "setTimeout callback" };
            let context = self.context.clone();
            context.with(|ctx| {
                self.call_saved(&ctx, &timer.script, what, timer.callback.clone(), timer.args.clone());
            });
            self.shared.borrow_mut().timers.reschedule(id, timer, now);
            self.after_call();
        }
    }

    /// Runs one job, then `onJobPassed` or `onJobFailed`; a job that reached its limit
    /// is removed.
    fn run_job(&mut self, tag: &str) {
        let job = {
            let shared = self.shared.borrow();
            shared.scheduler.jobs.get(tag).map(|j| (j.task.clone(), j.args.clone(), j.cron.clone(), j.limit, j.script.clone()))
        };
        let Some((task, args, cron, limit, script)) = job else { return };
        self.job_runs += 1;
        let context = self.context.clone();
        context.with(|ctx| {
            let error = self.call_saved(&ctx, &script, &format!("job {tag}"), task, args);
            let limit_value = limit as f64;
            match &error {
                None => {
                    self.call_each(&ctx, Hook::JobPassed, |_| Ok((tag.to_string(), cron.clone(), limit_value)));
                }
                Some(message) => {
                    self.call_each(&ctx, Hook::JobFailed, |_| Ok((tag.to_string(), cron.clone(), limit_value, message.clone())));
                }
            }
        });
        {
            let mut shared = self.shared.borrow_mut();
            // In a cluster the hub counts runs per node and stops firing.
            let local_limit = !shared.cluster.role.cluster_jobs();
            let finished = shared.scheduler.jobs.get_mut(tag).map(|j| {
                j.runs += 1;
                local_limit && j.limit != 0 && j.runs >= j.limit
            });
            if finished == Some(true) {
                shared.scheduler.jobs.remove(tag);
            }
        }
        self.after_call();
    }
}
