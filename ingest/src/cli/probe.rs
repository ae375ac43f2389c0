//! `yakumo-ingest probe`: what each camera video holds, and which cameras disagree on size or
//! frame rate.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use yakumo_ingest::media::{MediaInfo, probe};
use yakumo_ingest::run::camera_videos;

/// Options of `yakumo-ingest probe`.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// Video files, or one directory of videos (camera name = file stem).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Print the full probe results as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the probe subcommand.
pub fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let videos = camera_videos(&args.inputs)?;
    let mut infos = Vec::new();
    let mut failures = Vec::new();
    for video in &videos {
        match probe(&video.path) {
            Ok(info) => infos.push((video.name.clone(), info)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let warnings = mismatch_warnings(&infos);
    if args.json {
        let files: Vec<serde_json::Value> = infos
            .iter()
            .map(|(name, info)| serde_json::json!({ "camera": name, "info": info }))
            .collect();
        let report =
            serde_json::json!({ "files": files, "warnings": warnings, "errors": failures });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (name, info) in &infos {
            println!("{name}: {}", describe(info));
        }
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

/// One line about a file.
fn describe(info: &MediaInfo) -> String {
    let video = match &info.video {
        None => "no video".to_string(),
        Some(v) => {
            let fps = v
                .fps
                .map(|f| format!("{:.3} fps", f.as_f64()))
                .unwrap_or("unknown fps".into());
            let vfr = if v.variable_frame_rate {
                " (variable)"
            } else {
                ""
            };
            let exact = if v.frame_count_exact {
                ""
            } else {
                " (estimated)"
            };
            format!(
                "{} {}x{} {fps}{vfr}, {} frames{exact}",
                v.codec, v.width, v.height, v.frame_count
            )
        }
    };
    let audio = match info.audio.first() {
        None => "no audio".to_string(),
        Some(a) => format!("{} {} Hz × {}", a.codec, a.sample_rate, a.channels),
    };
    let duration = info
        .duration_seconds
        .map(|d| format!("{d:.3} s"))
        .unwrap_or("unknown duration".into());
    format!(
        "{}; {video}; {audio}; {duration}",
        info.container.as_deref().unwrap_or("raw stream")
    )
}

/// Warnings naming the cameras whose resolution or frame rate differs from the most common one.
fn mismatch_warnings(infos: &[(String, MediaInfo)]) -> Vec<String> {
    let mut warnings = Vec::new();
    let key = |f: &dyn Fn(&MediaInfo) -> Option<String>| -> Vec<(String, String)> {
        infos
            .iter()
            .map(|(n, i)| (n.clone(), f(i).unwrap_or("none".into())))
            .collect()
    };
    let sizes = key(&|i| {
        i.video
            .as_ref()
            .map(|v| format!("{}x{}", v.width, v.height))
    });
    let rates = key(&|i| {
        i.video.as_ref().map(|v| {
            v.fps
                .map(|f| format!("{:.3} fps", f.as_f64()))
                .unwrap_or("unknown fps".into())
        })
    });
    for (what, values) in [("resolution", sizes), ("frame rate", rates)] {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for (_, v) in &values {
            *counts.entry(v).or_default() += 1;
        }
        let Some((common, _)) = counts.iter().max_by_key(|(_, n)| **n) else {
            continue;
        };
        let odd: Vec<String> = values
            .iter()
            .filter(|(_, v)| v != common)
            .map(|(n, v)| format!("{n} ({v})"))
            .collect();
        if !odd.is_empty() {
            warnings.push(format!("{what} differs from {common}: {}", odd.join(", ")));
        }
    }
    for (name, info) in infos {
        if info.video.as_ref().is_some_and(|v| v.variable_frame_rate) {
            warnings.push(format!("{name}: variable frame rate"));
        }
        if info.audio.is_empty() {
            warnings.push(format!("{name}: no audio, so --sync audio cannot align it"));
        }
    }
    warnings
}
