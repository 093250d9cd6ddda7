//! afserver's render resources mode, `{"get":{"type":"renders","mode":"resources"}}`: per render
//! its `id`, `host_name` and `host_resources` (hardware and load, from afrender's heartbeats).
//! afpool keeps the hardware a selector rule may ask for, not the load, which changes every
//! heartbeat and would re-resolve every pool on every refresh.

use serde::Deserialize;

use super::RenderInfo;

/// The request body: every render's resources.
pub const GET_RESOURCES: &[u8] = br#"{"get":{"type":"renders","mode":"resources"}}"#;

/// The hardware of one render, as the resources mode lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Hardware {
    /// CPU cores.
    pub cpu_num: i64,
    /// CPU clock in MHz.
    pub cpu_mhz: i64,
    /// Memory in MB.
    pub mem_total_mb: i64,
    /// GPU memory in MB.
    pub gpu_mem_total_mb: i64,
    /// The GPU's name.
    pub gpu_string: String,
    /// The CPU's name.
    pub hw_info: String,
    /// Disk size in GB.
    pub hdd_total_gb: i64,
}

/// One render of the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// afserver's id of the render.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its hardware.
    pub hardware: Hardware,
}

/// Reads a resources reply (`{"renders":[{id, host_name, host_resources}]}`); a render without
/// `host_resources` (afrender has not sent them yet) is left out.
pub fn parse(body: &[u8]) -> Result<Vec<Resources>, String> {
    #[derive(Deserialize)]
    struct Reply {
        renders: Option<Vec<Raw>>,
    }
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        id: i64,
        #[serde(default)]
        host_name: String,
        host_resources: Option<Hardware>,
    }
    let reply: Reply = super::from_slice_lenient(body).map_err(|e| e.to_string())?;
    let raw = reply.renders.ok_or("the reply has no \"renders\" list")?;
    Ok(raw
        .into_iter()
        .filter_map(|r| {
            Some(Resources {
                id: r.id,
                name: r.host_name,
                hardware: r.host_resources?,
            })
        })
        .collect())
}

/// Puts each render's hardware into `list`, matched by id and name (an id afserver reused for
/// another render between the two requests matches nothing).
pub fn merge(list: &mut [RenderInfo], found: Vec<Resources>) {
    let by_id: std::collections::HashMap<i64, Resources> =
        found.into_iter().map(|r| (r.id, r)).collect();
    for render in list {
        let Some(r) = by_id.get(&render.id) else {
            continue;
        };
        if r.name != render.name {
            continue;
        }
        let (f, h) = (&mut render.facts, &r.hardware);
        f.cpu_num = h.cpu_num;
        f.cpu_mhz = h.cpu_mhz;
        f.mem_total_mb = h.mem_total_mb;
        f.gpu_mem_total_mb = h.gpu_mem_total_mb;
        f.gpu_string = h.gpu_string.clone();
        f.hw_info = h.hw_info.clone();
        f.hdd_total_gb = h.hdd_total_gb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::captured_reply_body as body_of;

    #[test]
    fn reads_the_captured_resources_and_merges_them_by_id() {
        let found = parse(&body_of("46-chromium-get-renders-resources.reply.bin")).unwrap();
        let names: Vec<_> = found.iter().map(|r| (r.id, r.name.as_str())).collect();
        assert_eq!(names, [(2, "render01"), (3, "gpu.node3")]);
        assert_eq!(found[0].hardware.mem_total_mb, 24105);
        assert_eq!(found[0].hardware.hw_info, "AMD EPYC");
        let mut list = super::super::parse_list(&body_of("08-text-get-renders.reply.bin")).unwrap();
        merge(&mut list, found);
        let mem: Vec<_> = list
            .iter()
            .map(|r| (r.name.as_str(), r.facts.mem_total_mb))
            .collect();
        assert_eq!(
            mem,
            [("render02", 0), ("render01", 24105), ("gpu.node3", 24105)]
        );
        assert_eq!(list[1].facts.cpu_num, 2);
        assert_eq!(list[1].facts.os, "unix linux 64 debian 12");
    }

    #[test]
    fn a_reused_id_or_a_render_without_resources_gets_none() {
        let body = br#"{"renders":[{"id":1,"host_name":"b","host_resources":{"cpu_num":8}},
            {"id":2,"host_name":"c"}]}"#;
        let found = parse(body).unwrap();
        assert_eq!(found.len(), 1);
        let mut list = vec![RenderInfo {
            id: 1,
            ..RenderInfo::named("a")
        }];
        merge(&mut list, found);
        assert_eq!(list[0].facts.cpu_num, 0);
        assert!(parse(br#"{"info":{}}"#).is_err());
    }
}
