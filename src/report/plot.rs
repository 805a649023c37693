//! Figures written into a study (SVG, drawn with `plotters`): horizontal bar charts of
//! screening effects, line charts (learning curves), measured-vs-predicted scatters, lines
//! over prediction bands, panels stacked over one time axis, and Pareto scatters.
//! Each function writes one complete SVG file: a title, axes named with their units by the
//! caller, tick labels that do not run together, and the legend in a strip below the
//! plot, never over the data.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

const SELECTED: RGBColor = RGBColor(31, 119, 180);
const OTHER: RGBColor = RGBColor(190, 190, 190);
const WHISKER: RGBColor = RGBColor(60, 60, 60);
/// Nine line colours, so a figure with as many lines (a replay of five policies: the rate,
/// a forecast and five cores lines) repeats none.
const PALETTE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
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

/// The SVG text `draw` makes on a white canvas of `size` pixels, for pages that embed
/// their figures and for files written whole.
fn svg_text(size: (u32, u32), draw: impl FnOnce(Area<'_>) -> Result<()>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(root)?;
    }
    Ok(svg)
}

fn write_svg(path: &Path, svg: &str) -> Result<()> {
    std::fs::write(path, svg).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
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
        .margin_right(24)
        .x_label_area_size(44)
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
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .x_labels(8)
        .y_labels(8)
        .axis_desc_style(("sans-serif", 14))
        .label_style(("sans-serif", 12));
    if numbers {
        mesh.x_label_formatter(&number).y_label_formatter(&number);
    }
    mesh.draw().map_err(err)
}

/// How a legend entry's sample is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dot(RGBColor, u32),
    Cross(RGBColor),
    Band,
    Block(RGBColor),
    Triangle(RGBColor),
    Square(RGBColor),
}

/// Height of one row of the legend strip, px.
const LEGEND_ROW: u32 = 22;

/// Lays out `entries` in rows that fit `width`: each entry's width and the rows' entry
/// indices. An entry is a 24 px sample, a gap and its name (about 7 px a character at 13 px).
fn legend_rows(entries: &[(String, Swatch)], width: u32) -> (Vec<u32>, Vec<Vec<usize>>) {
    let widths: Vec<u32> = entries
        .iter()
        .map(|(name, _)| 52 + 7 * name.chars().count() as u32)
        .collect();
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0;
    for (i, w) in widths.iter().enumerate() {
        let row = rows.last_mut().expect("rows start with one");
        if !row.is_empty() && used + w > width.saturating_sub(24) {
            rows.push(vec![i]);
            used = *w;
        } else {
            row.push(i);
            used += w;
        }
    }
    (widths, rows)
}

/// Splits a strip off the bottom of `root`, draws the legend `entries` in it (centred rows)
/// and returns the area above it for the chart.
fn legend_strip<'p>(root: &Area<'p>, entries: &[(String, Swatch)]) -> Result<Area<'p>> {
    if entries.is_empty() {
        return Ok(root.clone());
    }
    let (width, height) = root.dim_in_pixel();
    let (widths, rows) = legend_rows(entries, width);
    let strip = 10 + LEGEND_ROW * rows.len() as u32;
    let (chart, below) = root.split_vertically(height.saturating_sub(strip));
    let text = TextStyle::from(("sans-serif", 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let total: u32 = row.iter().map(|&i| widths[i]).sum();
        let mut x = (width.saturating_sub(total) / 2) as i32;
        let y = (LEGEND_ROW * r as u32 + LEGEND_ROW / 2) as i32;
        for &i in row {
            let (name, swatch) = &entries[i];
            draw_swatch(&below, *swatch, x, y)?;
            below
                .draw(&Text::new(name.as_str(), (x + 30, y), text.clone()))
                .map_err(err)?;
            x += widths[i] as i32;
        }
    }
    Ok(chart)
}

/// A legend entry's sample, 24 px wide, centred on row `y`.
fn draw_swatch(area: &Area<'_>, swatch: Swatch, x: i32, y: i32) -> Result<()> {
    let drawn = match swatch {
        Swatch::Line(c) => area.draw(&PathElement::new(
            vec![(x, y), (x + 24, y)],
            c.stroke_width(2),
        )),
        Swatch::Dot(c, r) => area.draw(&Circle::new((x + 12, y), r, c.filled())),
        Swatch::Cross(c) => area.draw(&Cross::new((x + 12, y), 4, c.stroke_width(1))),
        Swatch::Band => area.draw(&Rectangle::new(
            [(x, y - 6), (x + 24, y + 6)],
            OTHER.mix(0.45).filled(),
        )),
        Swatch::Block(c) => area.draw(&Rectangle::new([(x, y - 6), (x + 24, y + 6)], c.filled())),
        Swatch::Triangle(c) => area.draw(&TriangleMarker::new((x + 12, y), 6, c.filled())),
        Swatch::Square(c) => area.draw(&Rectangle::new(
            [(x + 6, y - 6), (x + 18, y + 6)],
            c.stroke_width(2),
        )),
    };
    drawn.map_err(err)
}

/// The legend entries of lines drawn in palette order.
fn line_entries<'s>(series: impl Iterator<Item = &'s Series>) -> Vec<(String, Swatch)> {
    series
        .enumerate()
        .map(|(k, s)| (s.name.clone(), Swatch::Line(PALETTE[k % PALETTE.len()])))
        .collect()
}

/// One bar of a bar chart.
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// A spread drawn as a whisker from the bar's end (e.g. Morris σ), if any.
    pub spread: Option<f64>,
    pub highlight: bool,
}

/// What a bar chart's marks mean, for its legend.
pub struct BarLegend<'a> {
    /// The highlighted bars.
    pub highlight: &'a str,
    /// The other bars.
    pub other: &'a str,
    /// The whiskers.
    pub spread: &'a str,
    /// The vertical rule.
    pub rule: &'a str,
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
    bar_chart_with_legend(path, title, x_label, bars, rule, None)
}

/// The legend's entries for the marks a bar chart draws.
fn bar_legend_entries(l: &BarLegend<'_>, bars: &[Bar], rule: Option<f64>) -> Vec<(String, Swatch)> {
    let marks = [
        (
            bars.iter().any(|b| b.highlight),
            l.highlight,
            Swatch::Block(SELECTED),
        ),
        (
            bars.iter().any(|b| !b.highlight),
            l.other,
            Swatch::Block(OTHER),
        ),
        (
            bars.iter().any(|b| b.spread.is_some()),
            l.spread,
            Swatch::Line(WHISKER),
        ),
        (rule.is_some(), l.rule, Swatch::Line(RED)),
    ];
    marks
        .into_iter()
        .filter(|(drawn, ..)| *drawn)
        .map(|(_, name, swatch)| (name.to_string(), swatch))
        .collect()
}

/// [`bar_chart`] with a legend strip naming the marks that appear.
pub fn bar_chart_with_legend(
    path: &Path,
    title: &str,
    x_label: &str,
    bars: &[Bar],
    rule: Option<f64>,
    legend: Option<&BarLegend<'_>>,
) -> Result<()> {
    let entries = legend.map_or_else(Vec::new, |l| bar_legend_entries(l, bars, rule));
    let n = bars.len().max(1) as i32;
    let strip = if entries.is_empty() { 0 } else { 40 };
    let height = (120 + 18 * n).max(240) as u32 + strip;
    let top = bars
        .iter()
        .map(|b| b.value + b.spread.unwrap_or(0.0).max(0.0))
        .chain(rule)
        .fold(0.0_f64, f64::max);
    let x_max = if top > 0.0 { top * 1.05 } else { 1.0 };
    let root = canvas(path, (900, height))?;
    let area = legend_strip(&root, &entries)?;
    let mut chart = frame(&area, Some(title), 330, 0.0..x_max, (0..n).into_segmented())?;
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
    draw_line_chart(canvas(path, (860, 540))?, title, x_label, y_label, series)
}

/// [`line_chart`] as the text of an SVG document, for pages that embed their figures.
pub fn line_chart_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<String> {
    svg_text((860, 540), |root| {
        draw_line_chart(root, title, x_label, y_label, series)
    })
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
    let area = legend_strip(&root, &line_entries(series.iter()))?;
    let mut chart = frame(&area, Some(title), 70, x0..x1, 0.0..y1 * 1.08)?;
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
    let root = canvas(path, (860, 540))?;
    let area = legend_strip(&root, &line_entries(positive.iter()))?;
    let (lo, hi) = (y0 / 1.3, y1 * 1.3);
    let (ticks, grid) = log_ticks(lo, hi);
    let y = (lo..hi)
        .log_scale()
        .with_key_points(ticks)
        .with_light_points(grid);
    let mut chart = frame(&area, Some(title), 70, x0..x1, y)?;
    axes(&mut chart, x_label, y_label, true)?;
    draw_lines(&mut chart, &positive)?;
    root.present().map_err(err)
}

/// Labelled ticks of a logarithmic axis from `lo` to `hi` — 1, 2 and 5 of each decade when
/// it spans less than three (powers of ten alone would label one value or none), else the
/// powers of ten — and the minor grid (every 1..9 of each decade).
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let within = |v: &f64| (lo..=hi).contains(v);
    let decades = (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32);
    let steps: &[f64] = if hi / lo < 1000.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let at = |ms: &[f64]| -> Vec<f64> {
        let each = decades
            .clone()
            .flat_map(|d| ms.iter().map(move |m| m * 10f64.powi(d)));
        each.filter(within).collect()
    };
    let minor: Vec<f64> = (1..10).map(f64::from).collect();
    (at(steps), at(&minor))
}

/// Draws series `k` in its palette colour (the legend strip names it); returns the colour.
fn draw_line<X, Y>(chart: &mut Chart<'_, '_, X, Y>, k: usize, s: &Series) -> Result<RGBColor>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let c = PALETTE[k % PALETTE.len()];
    chart
        .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
        .map_err(err)?;
    Ok(c)
}

/// Draws each series as a line with markers.
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
    Ok(())
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
/// `(x, lower, upper)` (prediction intervals); the legend names the lines and, once, the
/// bands (`band_name`).
pub fn band_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Series],
    bands: &[Vec<(f64, f64, f64)>],
    band_name: &str,
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
    let root = canvas(path, (1000, 560))?;
    let mut entries = line_entries(lines.iter());
    if bands.iter().any(|b| !b.is_empty()) {
        entries.push((band_name.to_string(), Swatch::Band));
    }
    let area = legend_strip(&root, &entries)?;
    let mut chart = frame(&area, Some(title), 80, x0..x1, 0.0..y1 * 1.05)?;
    axes(&mut chart, x_label, y_label, true)?;
    draw_bands(&mut chart, bands)?;
    for (k, s) in lines.iter().enumerate() {
        draw_line(&mut chart, k, s)?;
    }
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

/// Pareto scatters, one per pair of objectives, up to three a row, each with room for its
/// own tick labels; one legend strip below them all. A panel whose values are all positive
/// and span more than a decade on an axis uses a log scale there, so saturated
/// configurations (p99 in seconds) do not squash the front (p99 in milliseconds).
pub fn pareto_panels(path: &Path, title: &str, panels: &[Panel]) -> Result<()> {
    write_svg(path, &pareto_panels_svg(title, panels)?)
}

/// [`pareto_panels`] as the text of an SVG document.
pub fn pareto_panels_svg(title: &str, panels: &[Panel]) -> Result<String> {
    let n = panels.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let size = (500 * cols as u32, 470 * rows as u32 + 70);
    svg_text(size, |root| {
        draw_pareto_panels(root, title, panels, rows, cols)
    })
}

fn draw_pareto_panels(
    root: Area<'_>,
    title: &str,
    panels: &[Panel],
    rows: usize,
    cols: usize,
) -> Result<()> {
    let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
    let entries = vec![
        ("Pareto front".to_string(), Swatch::Dot(SELECTED, 5)),
        ("dominated".to_string(), Swatch::Dot(OTHER, 3)),
        ("violates a constraint".to_string(), Swatch::Cross(RED)),
    ];
    let grid = legend_strip(&root, &entries)?;
    for (area, panel) in grid.split_evenly((rows, cols)).iter().zip(panels) {
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

/// One panel of [`stacked_lines`].
pub struct LinePanel {
    /// The panel's own caption (empty: none).
    pub title: String,
    /// The panel's y axis, with its unit.
    pub y_label: String,
    pub series: Vec<Series>,
    /// Shaded bands under the lines, each a list of `(x, lower, upper)`.
    pub bands: Vec<Vec<(f64, f64, f64)>>,
    /// Events marked on the lines (a decision, a violation), drawn over them.
    pub marks: Vec<Marks>,
}

/// How an event is marked: each shape has its own colour, apart from the lines'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    /// A small dark dot.
    Dot,
    /// An upward triangle, green.
    Triangle,
    /// A cross, red.
    Cross,
    /// An open square, purple.
    Square,
}

/// Events of one kind, named in the legend.
pub struct Marks {
    pub name: String,
    pub marker: Marker,
    pub points: Vec<(f64, f64)>,
}

const TRIANGLE: RGBColor = RGBColor(0, 140, 70);
const SQUARE: RGBColor = RGBColor(120, 40, 160);

impl Marker {
    fn swatch(self) -> Swatch {
        match self {
            Marker::Dot => Swatch::Dot(WHISKER, 3),
            Marker::Triangle => Swatch::Triangle(TRIANGLE),
            Marker::Cross => Swatch::Cross(RED),
            Marker::Square => Swatch::Square(SQUARE),
        }
    }
}

/// Draws the marks of one kind.
fn draw_marks<Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, '_, RangedCoordf64, Y>,
    marks: &Marks,
) -> Result<()> {
    let pts = marks.points.iter().copied();
    let drawn = match marks.marker {
        Marker::Dot => chart.draw_series(pts.map(|p| Circle::new(p, 3, WHISKER.filled()))),
        Marker::Triangle => {
            chart.draw_series(pts.map(|p| TriangleMarker::new(p, 6, TRIANGLE.filled())))
        }
        Marker::Cross => chart.draw_series(pts.map(|p| Cross::new(p, 6, RED.stroke_width(2)))),
        Marker::Square => chart.draw_series(pts.map(|p| {
            EmptyElement::at(p) + Rectangle::new([(-6, -6), (6, 6)], SQUARE.stroke_width(2))
        })),
    };
    drawn.map(|_| ()).map_err(err)
}

/// Panels stacked one above the other, each with its own y axis from zero and the x range
/// of its own data: for quantities of different units over the same time (an input rate
/// and the resources that serve it) or different stretches of one series. Colours run on
/// across the panels, so one legend strip below names every line (and the bands, as
/// `band_name`).
pub fn stacked_lines(
    path: &Path,
    title: &str,
    x_label: &str,
    panels: &[LinePanel],
    band_name: &str,
) -> Result<()> {
    write_svg(path, &stacked_lines_svg(title, x_label, panels, band_name)?)
}

/// [`stacked_lines`] as the text of an SVG document.
pub fn stacked_lines_svg(
    title: &str,
    x_label: &str,
    panels: &[LinePanel],
    band_name: &str,
) -> Result<String> {
    let size = (1000, 130 + 300 * panels.len().max(1) as u32);
    svg_text(size, |root| {
        draw_stacked_lines(root, title, x_label, panels, band_name)
    })
}

fn draw_stacked_lines(
    root: Area<'_>,
    title: &str,
    x_label: &str,
    panels: &[LinePanel],
    band_name: &str,
) -> Result<()> {
    let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
    let mut entries = line_entries(panels.iter().flat_map(|p| &p.series));
    if panels.iter().flat_map(|p| &p.bands).any(|b| !b.is_empty()) {
        entries.push((band_name.to_string(), Swatch::Band));
    }
    for m in panels.iter().flat_map(|p| &p.marks) {
        if !m.points.is_empty() {
            entries.push((m.name.clone(), m.marker.swatch()));
        }
    }
    let area = legend_strip(&root, &entries)?;
    let mut k = 0;
    for (part, panel) in area
        .split_evenly((panels.len().max(1), 1))
        .iter()
        .zip(panels)
    {
        let lines = || panel.series.iter().flat_map(|s| s.points.iter().copied());
        let bands = || panel.bands.iter().flatten();
        let (x0, x1) = bounds(lines().map(|p| p.0).chain(bands().map(|b| b.0)));
        let (_, y1) = bounds(lines().map(|p| p.1).chain(bands().map(|b| b.2)));
        let caption = Some(panel.title.as_str()).filter(|t| !t.is_empty());
        let mut chart = frame(part, caption, 80, x0..x1, 0.0..y1 * 1.08)?;
        axes(&mut chart, x_label, &panel.y_label, true)?;
        draw_bands(&mut chart, &panel.bands)?;
        for s in &panel.series {
            draw_line(&mut chart, k, s)?;
            k += 1;
        }
        for m in &panel.marks {
            draw_marks(&mut chart, m)?;
        }
    }
    root.present().map_err(err)
}

/// Shades each band between its lower and upper bounds.
fn draw_bands<Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, '_, RangedCoordf64, Y>,
    bands: &[Vec<(f64, f64, f64)>],
) -> Result<()> {
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
    Ok(())
}

/// A tick label: at most six decimals, without trailing zeros (10, 0.25, not 10.0 or
/// 0.30000000000000004); from ten thousand on, in thousands or millions (25k, 1.5M), so a
/// rate axis's labels stay short.
fn number(v: &f64) -> String {
    let trim = |s: String| -> String {
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s == "-0" { "0".into() } else { s }
    };
    if v.abs() >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if v.abs() >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else {
        trim(format!("{v:.6}"))
    }
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
    let mut chart = frame(area, None, 70, x, y)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&number)
        .y_label_formatter(&number)
        .axis_desc_style(("sans-serif", 14))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    let of = |m: Mark| points.iter().filter(move |p| p.2 == m).map(|p| (p.0, p.1));
    chart
        .draw_series(of(Mark::Feasible).map(|p| Circle::new(p, 3, OTHER.filled())))
        .map_err(err)?;
    chart
        .draw_series(of(Mark::Infeasible).map(|p| Cross::new(p, 4, RED.stroke_width(1))))
        .map_err(err)?;
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
        .map_err(err)?;
    Ok(())
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
    fn a_log_axis_of_less_than_three_decades_is_labelled_at_1_2_and_5() {
        assert_eq!(log_ticks(15.0, 700.0).0, [20.0, 50.0, 100.0, 200.0, 500.0]);
        assert_eq!(
            log_ticks(0.5, 20000.0).0,
            [1.0, 10.0, 100.0, 1000.0, 10000.0]
        );
    }

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
        band_chart(&p, "t", "h", "rate", &s, &band, "interval").unwrap();
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
        assert_eq!(number(&25_000.0), "25k");
        assert_eq!(number(&1_500_000.0), "1.5M");
        assert!(std::fs::read_to_string(&p).unwrap().contains("<circle"));
    }
}
