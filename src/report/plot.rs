//! Figures written into a study (SVG, drawn with `plotters`): horizontal bar charts of
//! screening effects, line charts (learning curves) and measured-vs-predicted scatters.
//! Each function writes one complete SVG file.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

const SELECTED: RGBColor = RGBColor(31, 119, 180);
const OTHER: RGBColor = RGBColor(190, 190, 190);
const WHISKER: RGBColor = RGBColor(60, 60, 60);
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing the figure failed: {e}")
}

type Area<'p> = DrawingArea<SVGBackend<'p>, Shift>;
type Chart<'a, 'p, X, Y> = ChartContext<'a, SVGBackend<'p>, Cartesian2d<X, Y>>;

/// A white SVG canvas of `size` pixels that [`DrawingArea::present`] writes to `path`.
fn canvas(path: &Path, size: (u32, u32)) -> Result<Area<'_>> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    Ok(root)
}

/// The frame every chart shares: its caption (none for a panel under a common title), a
/// 12 px margin, 40 px below for the x axis and `y_area` px left for the y axis (wide enough
/// for that chart's tick labels).
fn frame<'a, 'p, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &'a Area<'p>,
    title: Option<&str>,
    y_area: u32,
    x: X,
    y: Y,
) -> Result<Chart<'a, 'p, X::CoordDescType, Y::CoordDescType>> {
    let mut builder = ChartBuilder::on(area);
    if let Some(title) = title {
        builder.caption(title, ("sans-serif", 18));
    }
    builder
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// The grid and both axes' names. `numbers` formats the ticks with [`number`], for axes
/// whose default labels would read `1000.0` or `0.30000000000000004`.
fn axes<X, Y>(
    chart: &mut Chart<'_, '_, X, Y>,
    x_label: &str,
    y_label: &str,
    numbers: bool,
) -> Result<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label).y_desc(y_label);
    if numbers {
        mesh.x_label_formatter(&number).y_label_formatter(&number);
    }
    mesh.draw().map_err(err)
}

/// The legend of the labelled series, at `position`.
fn legend<'a, 'p: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'p>, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

/// One bar of a bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// A spread drawn as a whisker from the bar's end (e.g. Morris σ), if any.
    pub spread: Option<f64>,
    pub highlight: bool,
}

/// A horizontal bar chart, bars in the given order from the top; highlighted bars in
/// colour, the others grey; an optional vertical rule (a selection threshold).
pub fn bar_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    bars: &[Bar],
    rule: Option<f64>,
) -> Result<()> {
    let n = bars.len().max(1) as i32;
    let height = (120 + 18 * n).max(240) as u32;
    let top = bars
        .iter()
        .map(|b| b.value + b.spread.unwrap_or(0.0).max(0.0))
        .chain(rule)
        .fold(0.0_f64, f64::max);
    let x_max = if top > 0.0 { top * 1.05 } else { 1.0 };
    let root = canvas(path, (900, height))?;
    let mut chart = frame(&root, Some(title), 330, 0.0..x_max, (0..n).into_segmented())?;
    let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bars.len().max(1))
        .y_label_formatter(&|v| match v {
            // Row 0 is drawn at the top.
            SegmentValue::CenterOf(i) => labels
                .get((n - 1 - *i) as usize)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc(x_label)
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(k, b)| {
            let row = n - 1 - k as i32;
            let colour = if b.highlight { SELECTED } else { OTHER };
            let mut r = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (b.value.max(0.0), SegmentValue::Exact(row + 1)),
                ],
                colour.filled(),
            );
            r.set_margin(2, 2, 0, 0);
            r
        }))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().filter_map(|(k, b)| {
            let s = b.spread?.max(0.0);
            let row = n - 1 - k as i32;
            let v = b.value.max(0.0);
            Some(PathElement::new(
                vec![
                    (v, SegmentValue::CenterOf(row)),
                    (v + s, SegmentValue::CenterOf(row)),
                ],
                WHISKER.stroke_width(1),
            ))
        }))
        .map_err(err)?;
    if let Some(x) = rule {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, SegmentValue::Exact(0)), (x, SegmentValue::Exact(n))],
                RED.stroke_width(1),
            )))
            .map_err(err)?;
    }
    root.present().map_err(err)
}

/// A line series with markers.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart of several series sharing the axes, with a legend.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    draw_line_chart(canvas(path, (800, 500))?, title, x_label, y_label, series)
}

/// [`line_chart`] as the text of an SVG document, for pages that embed their figures.
pub fn line_chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String> {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    draw_line_chart(root, title, x_label, y_label, series)?;
    Ok(svg)
}

fn draw_line_chart(
    root: Area<'_>,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let (x0, x1) = bounds(all().map(|p| p.0));
    let (_, y1) = bounds(all().map(|p| p.1));
    let mut chart = frame(&root, Some(title), 60, x0..x1, 0.0..y1 * 1.08)?;
    axes(&mut chart, x_label, y_label, true)?;
    draw_lines(&mut chart, series)?;
    root.present().map_err(err)
}

/// [`line_chart`] with a logarithmic y axis, for values spanning decades (errors in
/// percent of regressors from a few % to thousands). Non-positive values are left out.
pub fn line_chart_log_y(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    let positive: Vec<Series> = series
        .iter()
        .map(|s| Series {
            name: s.name.clone(),
            points: s.points.iter().copied().filter(|p| p.1 > 0.0).collect(),
        })
        .collect();
    let all = || positive.iter().flat_map(|s| s.points.iter().copied());
    let (x0, x1) = bounds(all().map(|p| p.0));
    let (y0, y1) = bounds(all().map(|p| p.1));
    let (y0, y1) = if y0 > 0.0 { (y0, y1) } else { (1.0, 10.0) };
    let root = canvas(path, (800, 500))?;
    let y = (y0 / 1.3..y1 * 1.3).log_scale();
    let mut chart = frame(&root, Some(title), 60, x0..x1, y)?;
    axes(&mut chart, x_label, y_label, true)?;
    draw_lines(&mut chart, &positive)?;
    root.present().map_err(err)
}

/// Draws series `k` in its palette colour, named in the legend; returns the colour.
fn draw_line<X, Y>(chart: &mut Chart<'_, '_, X, Y>, k: usize, s: &Series) -> Result<RGBColor>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let c = PALETTE[k % PALETTE.len()];
    chart
        .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
        .map_err(err)?
        .label(s.name.as_str())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    Ok(c)
}

/// Draws each series as a line with markers, and the legend.
fn draw_lines<'a, 'p: 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'a, 'p, RangedCoordf64, Y>,
    series: &[Series],
) -> Result<()> {
    for (k, s) in series.iter().enumerate() {
        let c = draw_line(chart, k, s)?;
        chart
            .draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(err)?;
    }
    legend(chart, SeriesLabelPosition::MiddleRight)
}

/// Measured (x) against predicted (y) on log axes, with the identity line.
pub fn scatter_log(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
) -> Result<()> {
    let positive: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(a, b)| *a > 0.0 && *b > 0.0 && a.is_finite() && b.is_finite())
        .collect();
    let (lo, hi) = bounds(positive.iter().flat_map(|&(a, b)| [a, b]));
    let (lo, hi) = (lo / 1.2, hi * 1.2);
    let root = canvas(path, (600, 600))?;
    let log = || (lo..hi).log_scale();
    let mut chart = frame(&root, Some(title), 60, log(), log())?;
    axes(&mut chart, x_label, y_label, true)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(lo, lo), (hi, hi)],
            BLACK.stroke_width(1),
        )))
        .map_err(err)?;
    chart
        .draw_series(
            positive
                .iter()
                .map(|&p| Circle::new(p, 3, SELECTED.mix(0.7).filled())),
        )
        .map_err(err)?;
    root.present().map_err(err)
}

/// Lines without markers (long series) over shaded bands, each band a list of
/// `(x, lower, upper)` (prediction intervals), with a legend for the lines.
pub fn band_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Series],
    bands: &[Vec<(f64, f64, f64)>],
) -> Result<()> {
    let xs = lines
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(bands.iter().flatten().map(|b| b.0));
    let (x0, x1) = bounds(xs);
    let ys = lines
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(bands.iter().flatten().flat_map(|b| [b.1, b.2]));
    let (_, y1) = bounds(ys);
    let root = canvas(path, (1000, 520))?;
    let mut chart = frame(&root, Some(title), 70, x0..x1, 0.0..y1 * 1.05)?;
    axes(&mut chart, x_label, y_label, false)?;
    for band in bands.iter().filter(|b| !b.is_empty()) {
        let outline: Vec<(f64, f64)> = band
            .iter()
            .map(|b| (b.0, b.2))
            .chain(band.iter().rev().map(|b| (b.0, b.1)))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                OTHER.mix(0.45).filled(),
            )))
            .map_err(err)?;
    }
    for (k, s) in lines.iter().enumerate() {
        draw_line(&mut chart, k, s)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(err)
}

/// How a point of a Pareto scatter is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// On the front: large, coloured.
    Front,
    /// Met the constraints, dominated: grey.
    Feasible,
    /// Violated a constraint: a red cross.
    Infeasible,
}

/// One scatter of two objectives.
pub struct Panel {
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<(f64, f64, Mark)>,
}

/// Pareto scatters side by side (one per pair of objectives). A panel whose values are all
/// positive and span more than a decade on an axis uses a log scale there, so saturated
/// configurations (p99 in seconds) do not squash the front (p99 in milliseconds).
pub fn pareto_panels(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    let n = panels.len().max(1);
    let root = canvas(path, (520 * n as u32, 520))?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
    for (area, panel) in root.split_evenly((1, n)).iter().zip(panels) {
        let finite: Vec<(f64, f64, Mark)> = panel
            .points
            .iter()
            .copied()
            .filter(|(x, y, _)| x.is_finite() && y.is_finite())
            .collect();
        let x = bounds(finite.iter().map(|p| p.0));
        let y = bounds(finite.iter().map(|p| p.1));
        let decades = |(lo, hi): (f64, f64)| lo > 0.0 && hi / lo > 10.0;
        let lin = |(lo, hi): (f64, f64)| lo - 0.05 * (hi - lo)..hi + 0.05 * (hi - lo);
        let log = |(lo, hi): (f64, f64)| (lo / 1.2..hi * 1.2).log_scale();
        // Each arm is its own coordinate type, hence four calls.
        match (decades(x), decades(y)) {
            (false, false) => draw_panel(area, panel, &finite, lin(x), lin(y)),
            (true, false) => draw_panel(area, panel, &finite, log(x), lin(y)),
            (false, true) => draw_panel(area, panel, &finite, lin(x), log(y)),
            (true, true) => draw_panel(area, panel, &finite, log(x), log(y)),
        }?;
    }
    root.present().map_err(err)
}

/// A tick label: at most six decimals, without trailing zeros (10, 0.25, not 10.0 or
/// 0.30000000000000004).
fn number(v: &f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn draw_panel<X, Y>(
    area: &Area<'_>,
    panel: &Panel,
    points: &[(f64, f64, Mark)],
    x: X,
    y: Y,
) -> Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = frame(area, None, 60, x, y)?;
    axes(&mut chart, &panel.x_label, &panel.y_label, false)?;
    let of = |m: Mark| points.iter().filter(move |p| p.2 == m).map(|p| (p.0, p.1));
    chart
        .draw_series(of(Mark::Feasible).map(|p| Circle::new(p, 3, OTHER.filled())))
        .map_err(err)?
        .label("dominated")
        .legend(|(x, y)| Circle::new((x, y), 3, OTHER.filled()));
    chart
        .draw_series(of(Mark::Infeasible).map(|p| Cross::new(p, 4, RED.stroke_width(1))))
        .map_err(err)?
        .label("violates a constraint")
        .legend(|(x, y)| Cross::new((x, y), 4, RED.stroke_width(1)));
    let mut front: Vec<(f64, f64)> = of(Mark::Front).collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart
        .draw_series(LineSeries::new(
            front.iter().copied(),
            SELECTED.stroke_width(1),
        ))
        .map_err(err)?;
    chart
        .draw_series(front.iter().map(|&p| Circle::new(p, 5, SELECTED.filled())))
        .map_err(err)?
        .label("Pareto front")
        .legend(|(x, y)| Circle::new((x, y), 5, SELECTED.filled()));
    legend(&mut chart, SeriesLabelPosition::MiddleRight)
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_svg_with_their_labels() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bars.svg");
        let bars = vec![
            Bar {
                label: "parallelism.default".into(),
                value: 2.0,
                spread: Some(0.5),
                highlight: true,
            },
            Bar {
                label: "blob.fetch.backlog".into(),
                value: 0.0,
                spread: None,
                highlight: false,
            },
        ];
        bar_chart(&p, "effects", "|Δ ln perf|", &bars, Some(0.1)).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("parallelism.default"));
        assert!(svg.contains("blob.fetch.backlog") && svg.contains("<rect"));

        let p = d.path().join("lines.svg");
        let s = vec![Series {
            name: "forest".into(),
            points: vec![(10.0, 40.0), (20.0, 25.0), (40.0, 15.0)],
        }];
        line_chart(&p, "learning curve", "configurations", "MAPE %", &s).unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains("forest"));

        let p = d.path().join("scatter.svg");
        scatter_log(&p, "t", "measured", "predicted", &[(1.0, 2.0), (10.0, 9.0)]).unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains("<circle"));

        let p = d.path().join("band.svg");
        let band = vec![vec![(0.0, 1.0, 3.0), (1.0, 2.0, 5.0)]];
        band_chart(&p, "t", "h", "rate", &s, &band).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(svg.contains("forest") && svg.contains("<polygon"));
        let p = d.path().join("log.svg");
        let s = vec![Series {
            name: "svr".into(),
            points: vec![(10.0, 4000.0), (20.0, 0.0), (40.0, 15.0)],
        }];
        line_chart_log_y(&p, "learning curve", "configurations", "MAPE %", &s).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        // Decades as ticks, whole numbers without a decimal point.
        assert!(svg.contains("\n100\n") && svg.contains("\n1000\n"), "{svg}");
        assert!(!svg.contains("1000.0"));
        assert_eq!(number(&0.30000000000000004), "0.3");
        assert_eq!(number(&20.0), "20");
        assert!(std::fs::read_to_string(&p).unwrap().contains("<circle"));
    }
}
