//! The fake afserver's renders: the list (`{"get":{"type":"renders"}}`, with an unescaped
//! backslash like afserver's own replies can have) and the resources mode (`"mode":"resources"`:
//! `id`, `host_name`, `host_resources`), with renders that join later and hardware a test can
//! change while the fake runs. Ids are positions from 1, as afserver numbers renders as they
//! register.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

/// Renders known at start, renders that joined since, and hardware set by tests.
#[derive(Default)]
pub struct FakeRenders {
    joined: Mutex<Vec<(String, bool)>>,
    hardware: Mutex<HashMap<String, Value>>,
    /// Resources-mode requests answered.
    pub resources_asked: std::sync::atomic::AtomicUsize,
}

/// What afrender reports for a machine nobody described: two cores, no GPU.
fn default_hardware() -> Value {
    json!({"cpu_num": 2, "cpu_mhz": 2445, "mem_total_mb": 8000, "gpu_mem_total_mb": 0,
        "gpu_string": "", "hw_info": "AMD EPYC", "hdd_total_gb": 251})
}

impl FakeRenders {
    /// A render registers (it is listed after the others).
    pub fn join(&self, name: &str, online: bool) {
        self.joined.lock().unwrap().push((name.to_string(), online));
    }

    /// Sets fields of a render's `host_resources` (the rest stay as they were).
    pub fn set_hardware(&self, name: &str, fields: Value) {
        let mut all = self.hardware.lock().unwrap();
        let hw = all.entry(name.to_string()).or_insert_with(default_hardware);
        for (k, v) in fields
            .as_object()
            .expect("an object of host_resources fields")
        {
            hw[k] = v.clone();
        }
    }

    fn all(&self, initial: &[(String, bool)]) -> Vec<(String, bool)> {
        let joined = self.joined.lock().unwrap();
        initial.iter().chain(joined.iter()).cloned().collect()
    }

    /// The render list body.
    pub fn list(&self, initial: &[(String, bool)], users: &HashMap<String, String>) -> Vec<u8> {
        let items: Vec<String> = self
            .all(initial)
            .iter()
            .enumerate()
            .map(|(i, (name, online))| {
                let (st, state) = if *online { (1, " ONL") } else { (0, " OFF") };
                let user = users.get(name).map_or("render", String::as_str);
                format!(r#"{{"name":"{name}","id":{},"user_name":"{user}","os":"unix linux 64 debian 12","engine":"3.4.1","st":{st},"state":"{state}","pool":"/","annotation":"gpu\..*"}}"#, i + 1)
            })
            .collect();
        format!(r#"{{"renders":[{}]}}"#, items.join(",")).into_bytes()
    }

    /// The resources mode's body.
    pub fn resources(&self, initial: &[(String, bool)]) -> Vec<u8> {
        self.resources_asked
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let hardware = self.hardware.lock().unwrap();
        let items: Vec<Value> = self
            .all(initial)
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                let mut hw = hardware.get(name).cloned().unwrap_or_else(default_hardware);
                hw["cpu_loadavg"] = json!([2, 2, 9]);
                hw["mem_free_mb"] = json!(1000 + i);
                json!({"id": i + 1, "host_name": name, "idle_time": 1795464963,
                    "busy_time": 1795464963, "host_resources": hw})
            })
            .collect();
        serde_json::to_vec(&json!({ "renders": items })).unwrap()
    }
}
