//! Input-rate histories: the CSV a forecast reads (`timestamp,records_per_s`) and a
//! synthetic daily trace generator shaped like a click-stream.
//!
//! **Spacing.** Forecasting needs one value per fixed step, but rates scraped from a
//! metrics system jitter by a few seconds and now and then miss a scrape. So a history is
//! *resampled*: the step is the median interval between consecutive timestamps (rounded to
//! whole seconds), and the value at each grid time `t0 + k·step` is interpolated linearly
//! between the two samples around it. A regular file comes back unchanged. Two consecutive
//! samples more than [`MAX_GAP_STEPS`] steps apart are an error (naming both lines): a gap
//! that long is an outage, and filling it would invent the data the forecast is fitted to.

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::Path;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The header a history file starts with.
pub const HEADER: [&str; 2] = ["timestamp", "records_per_s"];

/// Consecutive samples further apart than this many steps are a gap (an error).
pub const MAX_GAP_STEPS: f64 = 4.0;

/// How timestamps are written (a history is written back the way it was read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Seconds since 1970-01-01T00:00:00Z.
    Unix,
    /// RFC 3339, written in UTC (`2026-01-05T08:30:00Z`).
    Rfc3339,
}

/// Input rates on a regular time grid.
#[derive(Debug, Clone, PartialEq)]
pub struct RateHistory {
    /// Unix seconds of the first value.
    pub start: f64,
    /// Seconds between values (whole, ≥ 1).
    pub step_s: f64,
    /// Records per second, one per step.
    pub rates: Vec<f64>,
    pub format: TimeFormat,
}

impl RateHistory {
    /// Unix seconds of value `k` (also past the end, for forecasts).
    pub fn time_of(&self, k: usize) -> f64 {
        self.start + k as f64 * self.step_s
    }

    /// A timestamp in this history's format.
    pub fn format_time(&self, t: f64) -> String {
        format_time(t, self.format)
    }
}

/// Formats Unix seconds as `format`.
pub fn format_time(t: f64, format: TimeFormat) -> String {
    match format {
        TimeFormat::Unix => format!("{t}"),
        TimeFormat::Rfc3339 => OffsetDateTime::from_unix_timestamp_nanos((t * 1e9).round() as i128)
            .ok()
            .and_then(|d| d.format(&Rfc3339).ok())
            // Out of time's range (year > 9999): fall back to Unix seconds.
            .unwrap_or_else(|| format!("{t}")),
    }
}

/// Parses Unix seconds (`1767571200`, `1767571200.5`) or RFC 3339
/// (`2026-01-05T00:00:00Z`, `2026-01-05T01:00:00+01:00`).
pub fn parse_time(s: &str) -> Result<(f64, TimeFormat), String> {
    if let Ok(v) = s.parse::<f64>() {
        return if v.is_finite() {
            Ok((v, TimeFormat::Unix))
        } else {
            Err(format!("`{s}` is not a finite number of seconds"))
        };
    }
    let d = OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("`{s}` is neither Unix seconds nor an RFC 3339 timestamp ({e})"))?;
    Ok((d.unix_timestamp_nanos() as f64 / 1e9, TimeFormat::Rfc3339))
}

/// Reads a history file (see the module doc for the format and the resampling).
pub fn read(path: &Path) -> Result<RateHistory> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

/// Parses a history; `name` is the file named in errors.
pub fn parse(text: &str, name: &str) -> Result<RateHistory> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut samples: Vec<(f64, f64, u64)> = Vec::new();
    let mut format = None;
    let mut header_seen = false;
    for rec in reader.records() {
        let rec = rec.with_context(|| format!("{name}: not valid CSV"))?;
        let line = rec.position().map_or(0, |p| p.line());
        if !header_seen {
            let fields: Vec<&str> = rec.iter().collect();
            if fields != HEADER {
                bail!(
                    "{name}, line {line}: the header must be `{}`, found `{}`",
                    HEADER.join(","),
                    fields.join(",")
                );
            }
            header_seen = true;
            continue;
        }
        if rec.len() != 2 {
            bail!(
                "{name}, line {line}: expected 2 columns (timestamp, records_per_s), found {}",
                rec.len()
            );
        }
        let (t, f) = parse_time(&rec[0])
            .map_err(|e| anyhow::anyhow!("{name}, line {line}, column 1 (timestamp): {e}"))?;
        format.get_or_insert(f);
        let r: f64 = rec[1].parse().map_err(|_| {
            anyhow::anyhow!(
                "{name}, line {line}, column 2 (records_per_s): `{}` is not a number",
                &rec[1]
            )
        })?;
        if !r.is_finite() || r < 0.0 {
            bail!("{name}, line {line}, column 2 (records_per_s): {r} is not a rate (finite, ≥ 0)");
        }
        if let Some(&(prev, _, prev_line)) = samples.last()
            && t <= prev
        {
            bail!(
                "{name}, line {line}, column 1 (timestamp): {} is not after line {prev_line}'s \
                 {}; timestamps must increase",
                &rec[0],
                format_time(prev, format.unwrap_or(TimeFormat::Unix))
            );
        }
        samples.push((t, r, line));
    }
    if !header_seen {
        bail!("{name}: empty; expected the header `{}`", HEADER.join(","));
    }
    if samples.len() < 2 {
        bail!("{name}: needs at least 2 rows, found {}", samples.len());
    }
    resample(&samples, format.unwrap_or(TimeFormat::Unix), name)
}

/// Puts `(time, rate, line)` samples on the regular grid of their median interval.
fn resample(samples: &[(f64, f64, u64)], format: TimeFormat, name: &str) -> Result<RateHistory> {
    let mut gaps: Vec<f64> = samples.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_by(f64::total_cmp);
    let step = gaps[gaps.len() / 2].round();
    if step < 1.0 {
        bail!(
            "{name}: samples are less than a second apart (median interval); rates need steps of ≥ 1 s"
        );
    }
    for w in samples.windows(2) {
        if w[1].0 - w[0].0 > MAX_GAP_STEPS * step {
            bail!(
                "{name}, lines {} and {}: {} s apart, more than {MAX_GAP_STEPS} steps of {step} s \
                 (the median interval): the history has a gap; fill it or cut the history there",
                w[0].2,
                w[1].2,
                w[1].0 - w[0].0
            );
        }
    }
    let t0 = samples[0].0;
    let n = ((samples[samples.len() - 1].0 - t0) / step).round() as usize + 1;
    let mut rates = Vec::with_capacity(n);
    let mut j = 0;
    for k in 0..n {
        let t = t0 + k as f64 * step;
        while j + 1 < samples.len() && samples[j + 1].0 <= t {
            j += 1;
        }
        let r = match samples.get(j + 1) {
            Some(&(t1, r1, _)) if t > samples[j].0 => {
                let (ta, ra, _) = samples[j];
                ra + (r1 - ra) * (t - ta) / (t1 - ta)
            }
            // On a sample, or past the last one (by at most half a step).
            _ => samples[j].1,
        };
        rates.push(r);
    }
    Ok(RateHistory {
        start: t0,
        step_s: step,
        rates,
        format,
    })
}

/// Writes a history as CSV, atomically.
pub fn write(path: &Path, h: &RateHistory) -> Result<()> {
    let mut out = format!("{}\n", HEADER.join(","));
    for (k, r) in h.rates.iter().enumerate() {
        out.push_str(&format!("{},{r}\n", h.format_time(h.time_of(k))));
    }
    crate::fsx::write_atomic(path, out.as_bytes())
}

/// What the synthetic trace generator makes.
#[derive(Debug, Clone)]
pub struct TraceSpec {
    pub days: u32,
    pub step_s: u32,
    /// The trace's lowest rate (records/s), reached exactly.
    pub min: f64,
    /// The trace's highest rate (records/s), reached exactly.
    pub max: f64,
    pub seed: u64,
    /// Unix seconds of the first value; [`DEFAULT_START`] is a Monday midnight (UTC).
    pub start: f64,
}

/// 2026-01-05T00:00:00Z, a Monday.
pub const DEFAULT_START: f64 = 1_767_571_200.0;

/// Relative daily activity at each hour 00:00 … 23:00 (0 = night trough, 1 = evening
/// peak), the shape of a consumer click-stream: a trough around 04:00, a morning ramp,
/// a working-day plateau, and the peak at about 20:00.
const HOURLY: [f64; 24] = [
    0.42, 0.28, 0.17, 0.09, 0.04, 0.05, 0.12, 0.28, 0.48, 0.62, 0.68, 0.71, 0.74, 0.72, 0.69, 0.68,
    0.71, 0.78, 0.87, 0.96, 1.00, 0.94, 0.78, 0.60,
];

/// Activity by weekday (Monday first): the working week is busier than the weekend.
const WEEKDAY: [f64; 7] = [0.95, 1.0, 1.0, 1.0, 0.97, 0.84, 0.8];

/// Weekends wake up later: the daily shape is shifted by this many hours.
const WEEKEND_SHIFT_H: f64 = 1.5;

/// Generates a daily trace: the hourly click-stream shape (smoothly interpolated), scaled
/// by weekday and by a small random day-to-day factor (±4 %), times correlated noise (an
/// AR(1) process with a 20-minute correlation time and 3 % standard deviation, plus 1.5 %
/// white noise), with about one short burst a day (10–40 minutes, +15–35 %, sharp rise
/// and exponential decay) in active hours. The result is rescaled affinely so that it
/// spans exactly `[min, max]`, rounded to 0.1 records/s. Equal specs give equal traces.
pub fn generate(spec: &TraceSpec) -> Result<RateHistory> {
    if spec.days == 0 || spec.days > 3660 {
        bail!("--days must be in 1..=3660, not {}", spec.days);
    }
    if spec.step_s == 0 || spec.step_s > 86_400 {
        bail!("--step-s must be in 1..=86400, not {}", spec.step_s);
    }
    if !(spec.min.is_finite() && spec.max.is_finite() && spec.min >= 0.0 && spec.max > spec.min) {
        bail!(
            "need 0 ≤ --min < --max (finite), got {} and {}",
            spec.min,
            spec.max
        );
    }
    let n = (u64::from(spec.days) * 86_400 / u64::from(spec.step_s)) as usize;
    if n < 2 {
        bail!("a trace needs at least 2 steps: use a smaller --step-s");
    }
    if n > 20_000_000 {
        bail!("{n} steps is too long a trace: use a larger --step-s or fewer --days");
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let step = f64::from(spec.step_s);

    // Per-day factors and bursts, drawn first so the noise stream does not shift them.
    let day_factor: Vec<f64> = (0..spec.days)
        .map(|_| 1.0 + rng.random_range(-0.04..0.04))
        .collect();
    let mut bursts: Vec<(f64, f64, f64)> = Vec::new(); // (start s, length s, height)
    for d in 0..spec.days {
        let count = rng.random_range(0..3u32); // 0, 1 or 2: one a day on average
        for _ in 0..count {
            let at = f64::from(d) * 86_400.0 + rng.random_range(8.0..23.0) * 3600.0;
            let len = rng.random_range(10.0..40.0) * 60.0;
            bursts.push((at, len, rng.random_range(0.15..0.35)));
        }
    }

    let phi = (-step / 1200.0).exp();
    let mut ar = 0.0;
    let mut raw = Vec::with_capacity(n);
    for k in 0..n {
        let since = k as f64 * step;
        let t = spec.start + since;
        let day = (since / 86_400.0).floor() as usize;
        let weekday = ((t / 86_400.0).floor() as i64 + 3).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let mut hour = (t.rem_euclid(86_400.0)) / 3600.0;
        if weekday >= 5 {
            hour -= WEEKEND_SHIFT_H;
        }
        let level = 0.12 + 0.88 * daily_shape(hour) * WEEKDAY[weekday] * day_factor[day];
        // AR(1) with stationary standard deviation 0.03.
        ar = phi * ar + 0.03 * (1.0 - phi * phi).sqrt() * opt::normal::sample(&mut rng);
        let white = 0.015 * opt::normal::sample(&mut rng);
        let burst: f64 = bursts
            .iter()
            .filter(|(at, len, _)| since >= *at && since < at + len)
            .map(|(at, len, h)| h * (-(since - at) / (len / 3.0)).exp())
            .sum();
        raw.push(level * (ar + white).exp() * (1.0 + burst));
    }
    let lo = raw.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let rates = raw
        .iter()
        .map(|x| {
            let r = spec.min + (x - lo) / (hi - lo) * (spec.max - spec.min);
            ((r * 10.0).round() / 10.0).clamp(spec.min, spec.max)
        })
        .collect();
    Ok(RateHistory {
        start: spec.start,
        step_s: step,
        rates,
        format: TimeFormat::Rfc3339,
    })
}

/// The hourly shape at a fractional hour, by periodic Catmull-Rom interpolation (smooth,
/// passes through the hourly values).
fn daily_shape(hour: f64) -> f64 {
    let h = hour.rem_euclid(24.0);
    let i = h.floor() as usize;
    let u = h - h.floor();
    let p = |j: isize| HOURLY[(i as isize + j).rem_euclid(24) as usize];
    let (p0, p1, p2, p3) = (p(-1), p(0), p(1), p(2));
    let v = 0.5
        * (2.0 * p1
            + (p2 - p0) * u
            + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * u * u
            + (3.0 * p1 - p0 - 3.0 * p2 + p3) * u * u * u);
    v.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_and_rfc3339_timestamps_are_read() {
        let a = parse("timestamp,records_per_s\n0,10\n60,20\n120,30\n", "a.csv").unwrap();
        assert_eq!((a.start, a.step_s), (0.0, 60.0));
        assert_eq!(a.rates, vec![10.0, 20.0, 30.0]);
        assert_eq!(a.format, TimeFormat::Unix);
        let b = parse(
            "timestamp,records_per_s\n2026-01-05T00:00:00Z,10\n2026-01-05T01:01:00+01:00,20\n",
            "b.csv",
        )
        .unwrap();
        assert_eq!((b.start, b.step_s), (DEFAULT_START, 60.0));
        assert_eq!(b.format, TimeFormat::Rfc3339);
        assert_eq!(b.format_time(b.time_of(1)), "2026-01-05T00:01:00Z");
    }

    #[test]
    fn jitter_is_resampled_and_a_gap_is_refused() {
        // Samples a few seconds off the 60 s grid: values are interpolated onto it.
        let h = parse(
            "timestamp,records_per_s\n0,0\n62,62\n118,118\n180,180\n240,240\n300,300\n",
            "j",
        )
        .unwrap();
        assert_eq!(h.step_s, 60.0);
        for (k, r) in h.rates.iter().enumerate() {
            assert!((r - 60.0 * k as f64).abs() < 1e-9, "{k}: {r}");
        }
        let e = parse(
            "timestamp,records_per_s\n0,1\n60,1\n120,1\n600,1\n",
            "g.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("g.csv, lines 4 and 5") && e.contains("gap"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            ("time,rate\n0,1\n", "f.csv, line 1: the header"),
            (
                "timestamp,records_per_s\n0,1\nyesterday,2\n",
                "f.csv, line 3, column 1 (timestamp)",
            ),
            (
                "timestamp,records_per_s\n0,1\n60,-5\n",
                "f.csv, line 3, column 2 (records_per_s)",
            ),
            (
                "timestamp,records_per_s\n0,1\n60,fast\n",
                "f.csv, line 3, column 2",
            ),
            ("timestamp,records_per_s\n60,1\n0,2\n", "must increase"),
            ("timestamp,records_per_s\n0,1,2\n", "expected 2 columns"),
            ("timestamp,records_per_s\n0,1\n", "at least 2 rows"),
            ("", "empty"),
        ];
        for (text, want) in cases {
            let e = parse(text, "f.csv").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_generated_trace_spans_its_range_and_round_trips() {
        let spec = TraceSpec {
            days: 7,
            step_s: 300,
            min: 25_000.0,
            max: 100_000.0,
            seed: 3,
            start: DEFAULT_START,
        };
        let h = generate(&spec).unwrap();
        assert_eq!(h.rates.len(), 7 * 288);
        let lo = h.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = h.rates.iter().copied().fold(0.0, f64::max);
        assert_eq!((lo, hi), (25_000.0, 100_000.0));
        assert_eq!(generate(&spec).unwrap(), h, "same seed, same trace");

        // Diurnal: the night (02:00–06:00) is far below the evening (18:00–22:00).
        let mean_at = |from: usize, to: usize| {
            let v: Vec<f64> = (0..7)
                .flat_map(|d| (from * 12..to * 12).map(move |i| d * 288 + i))
                .map(|i| h.rates[i])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean_at(2, 6) < 0.5 * mean_at(18, 22));
        // Weekend (days 5, 6) quieter than mid-week (days 1–3) over the day.
        let day_mean = |d: usize| h.rates[d * 288..(d + 1) * 288].iter().sum::<f64>() / 288.0;
        assert!(day_mean(5) + day_mean(6) < day_mean(1) + day_mean(2));

        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rates.csv");
        write(&p, &h).unwrap();
        assert_eq!(read(&p).unwrap(), h);
    }

    #[test]
    fn bad_generator_flags_are_refused() {
        let ok = TraceSpec {
            days: 1,
            step_s: 60,
            min: 1.0,
            max: 2.0,
            seed: 0,
            start: 0.0,
        };
        for bad in [
            TraceSpec {
                min: 3.0,
                ..ok.clone()
            },
            TraceSpec {
                days: 0,
                ..ok.clone()
            },
            TraceSpec {
                step_s: 0,
                ..ok.clone()
            },
            TraceSpec {
                max: f64::NAN,
                ..ok.clone()
            },
        ] {
            assert!(generate(&bad).is_err(), "{bad:?}");
        }
        assert!(generate(&ok).is_ok());
    }
}
