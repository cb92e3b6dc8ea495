//! Drawing: two chart shapes (lines over a numeric x axis, and grouped bars), each rendered into
//! an SVG string with plotters' SVG backend. Text stays `<text>` elements, so no font files are
//! needed; plotters only estimates their width for layout.

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

const FONT: &str = "sans-serif";
const GREY: RGBColor = RGBColor(90, 90, 90);

/// Colours in the order series get them (the "tab10" palette).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
];

/// The same colour for a transport in every chart: QUIC blue, WebSocket orange.
pub fn transport_color(transport: &str, index: usize) -> RGBColor {
    match transport {
        "quic" => PALETTE[0],
        "ws" => PALETTE[1],
        _ => PALETTE[2 + index % (PALETTE.len() - 2)],
    }
}

/// `c` mixed with white (`amount` 0 = unchanged, 1 = white).
pub fn lighten(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (v as f64 + (255.0 - v as f64) * amount.clamp(0.0, 1.0)).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

/// One line: the line goes through the median of the points at each x; every point is marked.
#[derive(Debug, Clone)]
pub struct Line {
    /// What the series is of ("quic", "ws g=1000") …
    pub key: String,
    /// … and which measure of it ("p99"; empty when there is one per key).
    pub variant: String,
    pub color: RGBColor,
    pub marker: Marker,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

impl Line {
    pub fn label(&self) -> String {
        if self.variant.is_empty() {
            self.key.clone()
        } else {
            format!("{} {}", self.key, self.variant)
        }
    }
}

/// One bar per group (None: no bar in that group).
#[derive(Debug, Clone)]
pub struct Bars {
    pub label: String,
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
}

pub struct LineChart<'t> {
    pub title: &'t str,
    pub x_desc: &'t str,
    pub y_desc: &'t str,
    pub log_y: bool,
    pub lines: &'t [Line],
}

pub struct BarChart<'t> {
    pub title: &'t str,
    pub y_desc: &'t str,
    pub groups: &'t [String],
    pub bars: &'t [Bars],
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Renders a `width`×`height` SVG: `draw` gets the page above the footer, whose lines (the
/// caption: machine, date, notes) are written at the bottom.
pub fn page(
    width: u32,
    height: u32,
    footer: &[String],
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        // About 6 px per character at 13 px: long lines are wrapped at a word.
        let footer = wrap(footer, (width.saturating_sub(28) / 6).max(20) as usize);
        let footer_h = 10 + 17 * footer.len() as u32;
        let (main, foot) = root.split_vertically(height.saturating_sub(footer_h));
        let style = TextStyle::from((FONT, 13).into_font())
            .color(&GREY)
            .pos(Pos::new(HPos::Left, VPos::Top));
        for (i, line) in footer.iter().enumerate() {
            foot.draw(&Text::new(
                line.as_str(),
                (14, 2 + 17 * i as i32),
                style.clone(),
            ))
            .map_err(err)?;
        }
        draw(&main)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Lines of at most `max` characters, broken at spaces.
fn wrap(lines: &[String], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let mut cur = String::new();
        for word in line.split(' ') {
            if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > max {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push(cur);
    }
    out
}

/// A row of a legend.
enum Entry {
    Line {
        label: String,
        color: RGBColor,
        marker: Option<Marker>,
        dashed: bool,
    },
    Swatch {
        label: String,
        color: RGBColor,
    },
    Text(String),
}

impl Entry {
    fn label(&self) -> &str {
        match self {
            Entry::Line { label, .. } | Entry::Swatch { label, .. } | Entry::Text(label) => label,
        }
    }
}

const LEGEND_ROW: i32 = 21;

/// How many legend rows fit in a panel of height `h`.
fn legend_rows(h: u32) -> usize {
    (h.saturating_sub(30) as i32 / LEGEND_ROW).max(1) as usize
}

/// The chart's title across the whole area, then the plot on the left and the legend in a panel
/// on the right (outside the plot, so it never hides a point). `entries` gets the number of
/// rows that fit. Returns the plot's area.
fn title_and_legend<'a>(
    area: &Area<'a>,
    title: &str,
    entries: impl FnOnce(usize) -> Vec<Entry>,
) -> Result<Area<'a>, String> {
    let body = area.titled(title, (FONT, 22)).map_err(err)?;
    let (width, height) = body.dim_in_pixel();
    let entries = entries(legend_rows(height));
    let longest = entries
        .iter()
        .map(|e| e.label().chars().count())
        .max()
        .unwrap_or(0) as u32;
    let legend_w = (50 + 7 * longest).clamp(110, 320);
    let (plot, side) = body.split_horizontally(width.saturating_sub(legend_w));
    let text = TextStyle::from((FONT, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let (x, y) = (8, 24 + LEGEND_ROW * i as i32);
        match e {
            Entry::Line {
                color,
                marker,
                dashed,
                ..
            } => {
                let stroke = color.stroke_width(2);
                if *dashed {
                    side.draw(&DashedPathElement::new(
                        vec![(x, y), (x + 22, y)],
                        5,
                        3,
                        stroke,
                    ))
                    .map_err(err)?;
                } else {
                    side.draw(&PathElement::new(vec![(x, y), (x + 22, y)], stroke))
                        .map_err(err)?;
                }
                if let Some(m) = marker {
                    draw_marker(&side, (x + 11, y), *m, *color)?;
                }
            }
            Entry::Swatch { color, .. } => side
                .draw(&Rectangle::new(
                    [(x + 2, y - 7), (x + 20, y + 7)],
                    color.filled(),
                ))
                .map_err(err)?,
            Entry::Text(_) => {}
        }
        side.draw(&Text::new(
            e.label(),
            (if matches!(e, Entry::Text(_)) { x } else { 36 }, y),
            text.clone(),
        ))
        .map_err(err)?;
    }
    Ok(plot)
}

/// The legend of a line chart: one row per line when they fit; else one row per key (its
/// colour) and one per variant (its marker and dash), and "… more" when even that is too long.
fn line_legend(lines: &[Line], rows: usize) -> Vec<Entry> {
    let full = |l: &Line| Entry::Line {
        label: l.label(),
        color: l.color,
        marker: Some(l.marker),
        dashed: l.dashed,
    };
    if lines.len() <= rows {
        return lines.iter().map(full).collect();
    }
    let mut keys: Vec<(&str, RGBColor)> = Vec::new();
    let mut variants: Vec<&Line> = Vec::new();
    for l in lines {
        match keys.iter_mut().find(|(k, _)| *k == l.key) {
            // The key's last line is its darkest shade.
            Some(k) => k.1 = l.color,
            None => keys.push((&l.key, l.color)),
        }
        if !variants.iter().any(|v| v.variant == l.variant) {
            variants.push(l);
        }
    }
    let mut out: Vec<Entry> = keys
        .iter()
        .map(|(k, c)| Entry::Swatch {
            label: k.to_string(),
            color: *c,
        })
        .collect();
    if variants.len() > 1 {
        out.extend(variants.iter().map(|v| Entry::Line {
            label: v.variant.clone(),
            color: GREY,
            marker: Some(v.marker),
            dashed: v.dashed,
        }));
    }
    if out.len() > rows {
        let more = out.len() - rows + 1;
        out.truncate(rows - 1);
        out.push(Entry::Text(format!("… and {more} more")));
    }
    out
}

/// Lines over a linear x axis from 0; y linear from 0 or logarithmic. Points with a
/// non-positive y are left out of a log chart (they cannot be placed on it).
pub fn line_chart(area: &Area, c: &LineChart) -> Result<(), String> {
    let lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line {
            points: l
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && (!c.log_y || *y > 0.0))
                .collect(),
            ..l.clone()
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (x_max, y_min, y_max) = all.fold((0f64, f64::INFINITY, 0f64), |(a, b, c), (x, y)| {
        (a.max(*x), b.min(*y), c.max(*y))
    });
    if lines.is_empty() {
        return Err("no point to draw".into());
    }
    let plot = title_and_legend(area, c.title, |rows| line_legend(&lines, rows))?;
    let x_range = 0.0..nice_max(x_max * 1.04);
    let mut builder = ChartBuilder::on(&plot);
    builder
        .margin(10)
        .margin_right(20)
        .x_label_area_size(48)
        .y_label_area_size(72);
    if c.log_y {
        let (lo, hi) = if y_max / y_min < 10.0 {
            (y_min / 3.0, y_max * 3.0)
        } else {
            (y_min / 1.5, y_max * 1.5)
        };
        // At most nine decades: a stray tiny value must not squash the rest (it is drawn at the
        // bottom edge's outside instead).
        let lo = lo.max(hi / 1e9);
        let chart = builder
            .build_cartesian_2d(x_range, (lo..hi).log_scale())
            .map_err(err)?;
        finish_lines(chart, c, &lines)
    } else {
        let chart = builder
            .build_cartesian_2d(x_range, 0.0..nice_max(y_max * 1.08))
            .map_err(err)?;
        finish_lines(chart, c, &lines)
    }
}

/// Axis fonts and grid colours shared by every chart.
fn house_style<'m, 'a, 'b, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    mesh.axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
}

/// A marker centred on a pixel of `area`.
fn draw_marker(area: &Area, at: (i32, i32), marker: Marker, color: RGBColor) -> Result<(), String> {
    let (x, y) = at;
    match marker {
        Marker::Circle => area.draw(&Circle::new(at, 4, color.filled())),
        Marker::Triangle => area.draw(&TriangleMarker::new(at, 6, color.filled())),
        Marker::Square => area.draw(&Rectangle::new(
            [(x - 4, y - 4), (x + 4, y + 4)],
            color.filled(),
        )),
        Marker::Cross => area.draw(&Cross::new(at, 5, color.stroke_width(2))),
    }
    .map_err(err)
}

fn finish_lines<'a, 'b, Y>(
    mut chart: ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>,
    c: &LineChart,
    lines: &[Line],
) -> Result<(), String>
where
    'b: 'a,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(c.x_desc)
        .y_desc(c.y_desc)
        .x_label_formatter(&|x| fmt_num(*x))
        .y_label_formatter(&|y| fmt_num(*y));
    house_style(&mut mesh).draw().map_err(err)?;
    for line in lines {
        let (color, marker) = (line.color, line.marker);
        let stroke = color.stroke_width(2);
        let path = medians(&line.points);
        if line.dashed {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(path, 7, 5, stroke)))
                .map_err(err)?;
        } else {
            chart
                .draw_series(std::iter::once(PathElement::new(path, stroke)))
                .map_err(err)?;
        }
        let points = line.points.iter().copied();
        match marker {
            Marker::Circle => chart
                .draw_series(points.map(|p| Circle::new(p, 4, color.filled())))
                .map(drop),
            Marker::Triangle => chart
                .draw_series(points.map(|p| TriangleMarker::new(p, 6, color.filled())))
                .map(drop),
            Marker::Square => chart
                .draw_series(points.map(|p| {
                    EmptyElement::at(p) + Rectangle::new([(-4, -4), (4, 4)], color.filled())
                }))
                .map(drop),
            Marker::Cross => chart
                .draw_series(points.map(|p| Cross::new(p, 5, color.stroke_width(2))))
                .map(drop),
        }
        .map_err(err)?;
    }
    Ok(())
}

/// The points sorted by x, with the median y where several share an x (repeated runs).
pub fn medians(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..]
            .iter()
            .position(|p| p.0 != sorted[i].0)
            .map_or(sorted.len(), |k| i + k);
        let ys: Vec<f64> = sorted[i..j].iter().map(|p| p.1).collect();
        let n = ys.len();
        let median = if n % 2 == 1 {
            ys[n / 2]
        } else {
            (ys[n / 2 - 1] + ys[n / 2]) / 2.0
        };
        out.push((sorted[i].0, median));
        i = j;
    }
    out
}

/// Grouped bars: one group per label on the x axis, one bar per series in each group, each bar
/// with its value written above it.
pub fn bar_chart(area: &Area, c: &BarChart) -> Result<(), String> {
    let n = c.groups.len();
    let y_max = c
        .bars
        .iter()
        .flat_map(|b| b.values.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0f64, f64::max);
    if n == 0 || y_max <= 0.0 {
        return Err("no value to draw".into());
    }
    let plot = title_and_legend(area, c.title, |_| {
        c.bars
            .iter()
            .map(|b| Entry::Swatch {
                label: b.label.clone(),
                color: b.color,
            })
            .collect()
    })?;
    let mut chart = ChartBuilder::on(&plot)
        .margin(10)
        .margin_right(20)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..n as f64, 0.0..nice_max(y_max * 1.1))
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(0)
        .y_desc(c.y_desc)
        .y_label_formatter(&|y| fmt_num(*y));
    house_style(&mut mesh).draw().map_err(err)?;
    // Each group spans [i + 0.1, i + 0.9]; its bars share that width in series order.
    let m = c.bars.len().max(1);
    let width = 0.8 / m as f64;
    let value_style = TextStyle::from((FONT, 12).into_font())
        .color(&GREY)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    for (j, b) in c.bars.iter().enumerate() {
        let color = b.color;
        let placed: Vec<(f64, f64, f64)> = b
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let v = (*v)?;
                v.is_finite().then_some((
                    i as f64 + 0.1 + j as f64 * width,
                    i as f64 + 0.1 + (j + 1) as f64 * width,
                    v.max(0.0),
                ))
            })
            .collect();
        chart
            .draw_series(placed.iter().map(|(x0, x1, v)| {
                Rectangle::new([(*x0, 0.0), (*x1 - width * 0.08, *v)], color.filled())
            }))
            .map_err(err)?;
        chart
            .draw_series(placed.iter().map(|(x0, x1, v)| {
                EmptyElement::at(((x0 + x1 - width * 0.08) / 2.0, *v))
                    + Text::new(fmt_value(*v), (0, -3), value_style.clone())
            }))
            .map_err(err)?;
    }
    // Group names under the axis, centred on their groups (plotters' tick labels would sit on
    // round numbers instead).
    let base = plot.get_base_pixel();
    let label_style = TextStyle::from((FONT, 13).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (i, label) in c.groups.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        plot.draw(&Text::new(
            label.as_str(),
            (px - base.0, py - base.1 + 8),
            label_style.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// A panel that has nothing to chart: its title and a sentence saying why.
pub fn note(area: &Area, title: &str, text: &str) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let centre = |size: u32| {
        TextStyle::from((FONT, size).into_font())
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    area.draw(&Text::new(
        title,
        (w as i32 / 2, 26),
        centre(22).color(&BLACK),
    ))
    .map_err(err)?;
    area.draw(&Text::new(text, (w as i32 / 2, h as i32 / 2), centre(14)))
        .map_err(err)
}

/// A round upper bound for an axis, at least `x`: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
/// power of ten.
pub fn nice_max(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= x * (1.0 - 1e-12))
        .unwrap_or(10.0 * p)
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Axis labels: 2.5k, 1.25M, 12, 0.25.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        trim_zeros(format!("{:.2}", v / 1e6)) + "M"
    } else if a >= 1e3 {
        trim_zeros(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        trim_zeros(format!("{v:.1}"))
    } else {
        trim_zeros(format!("{v:.3}"))
    }
}

/// Values written on bars: whole numbers with thousands separators (98,600), small ones with
/// up to two decimals.
pub fn fmt_value(v: f64) -> String {
    if v.abs() < 100.0 {
        return trim_zeros(format!("{v:.2}"));
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_merge_repeated_x() {
        assert_eq!(
            wrap(&["aaa bbb ccc".into()], 7),
            vec!["aaa bbb".to_string(), "ccc".into()]
        );
        assert_eq!(
            medians(&[
                (5.0, 3.0),
                (1.0, 9.0),
                (5.0, 1.0),
                (5.0, 2.0),
                (2.0, 4.0),
                (2.0, 6.0)
            ]),
            vec![(1.0, 9.0), (2.0, 5.0), (5.0, 2.0)]
        );
    }

    #[test]
    fn a_long_legend_is_factored_then_cut() {
        let line = |k: &str, v: &str| Line {
            key: k.into(),
            variant: v.into(),
            color: PALETTE[0],
            marker: Marker::Circle,
            dashed: false,
            points: vec![],
        };
        let lines: Vec<Line> = ["quic", "ws", "ceiling"]
            .iter()
            .flat_map(|k| ["p50", "p99", "p99.9"].map(|v| line(k, v)))
            .collect();
        assert_eq!(line_legend(&lines, 9).len(), 9);
        let labels: Vec<String> = line_legend(&lines, 8)
            .iter()
            .map(|e| e.label().to_string())
            .collect();
        assert_eq!(labels, ["quic", "ws", "ceiling", "p50", "p99", "p99.9"]);
        let labels: Vec<String> = line_legend(&lines, 4)
            .iter()
            .map(|e| e.label().to_string())
            .collect();
        assert_eq!(labels, ["quic", "ws", "ceiling", "… and 3 more"]);
    }

    #[test]
    fn numbers_and_bounds() {
        assert_eq!(fmt_num(19997.0), "20k");
        assert_eq!(fmt_num(2500.0), "2.5k");
        assert_eq!(fmt_num(1_250_000.0), "1.25M");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(7.0), "7");
        assert_eq!(fmt_value(98_600.4), "98,600");
        assert_eq!(fmt_value(1_234_567.0), "1,234,567");
        assert_eq!(fmt_value(999.0), "999");
        assert_eq!(fmt_value(7.25), "7.25");
        assert_eq!(nice_max(10600.0), 12000.0);
        assert_eq!(nice_max(2100.0), 2500.0);
        assert_eq!(nice_max(500.0), 500.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
    }

    #[test]
    fn a_bar_chart_renders_without_fonts() {
        let groups = vec!["one-to-one".to_string(), "fanout 100".to_string()];
        let bars = vec![Bars {
            label: "quic".into(),
            color: PALETTE[0],
            values: vec![Some(4000.0), None],
        }];
        let svg = page(800, 500, &["caption line".into()], |a| {
            bar_chart(
                a,
                &BarChart {
                    title: "T",
                    y_desc: "deliveries/s",
                    groups: &groups,
                    bars: &bars,
                },
            )
        })
        .unwrap();
        assert!(svg.starts_with("<svg"));
        for s in [
            "one-to-one",
            "fanout 100",
            "caption line",
            "quic",
            "deliveries/s",
            "4,000",
        ] {
            assert!(svg.contains(s), "{s} missing");
        }
    }
}
