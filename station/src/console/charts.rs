//! Charts drawn on the server as SVG, readable without JavaScript: a bar
//! chart (one bar per category, status, district, ...) and a column chart
//! (reports per week or month).
//!
//! Small askama templates (`chart_bars.html`, `chart_columns.html`) rather
//! than a charting crate: the charts need what a crate's SVG output does not
//! give (plotters' SVG backend, for one, writes fixed colours, fonts and
//! pixel sizes as attributes, with no `<title>`/`<desc>`, no ARIA and no
//! class to hang a style on, and lays text out with its own font metrics,
//! which for Korean labels needs a bundled font). Here each chart is an
//! `<svg role="img">` named by its `<title>` and `<desc>`, every bar has its
//! own `<title>` (the figure on hover or long-press), colours come from the
//! console's style sheet by class (so print and contrast follow the page, and
//! the strict CSP's ban on inline styles holds), and the browser lays out the
//! Korean text. The page puts a table of the same figures beside each chart.

use askama::Template;

/// Width of every chart's drawing, in SVG units (it scales to its box).
const WIDTH: u32 = 640;
/// Height of one bar's row.
const ROW: u32 = 30;
/// Room for the labels left of the bars.
const LABEL_WIDTH: u32 = 190;
/// Room for the figure right of the longest bar.
const VALUE_ROOM: u32 = 56;
/// The column chart's plot height and the room under it for labels.
const PLOT_HEIGHT: u32 = 180;
const AXIS_ROOM: u32 = 40;
const LEFT_AXIS: u32 = 44;

/// One bar.
pub struct Bar {
    label: String,
    value: u64,
    y: u32,
    width: u32,
    tone: &'static str,
}

/// Horizontal bars, one per item, longest for the largest figure.
#[derive(Template)]
#[template(path = "chart_bars.html")]
pub struct BarChart {
    id: String,
    title: String,
    desc: String,
    height: u32,
    bars: Vec<Bar>,
    empty: String,
}

/// What a bar chart shows: a label, a figure, a colour class suffix.
pub struct Item {
    /// The bar's label.
    pub label: String,
    /// Its figure.
    pub value: u64,
    /// A CSS class suffix (`tone-…`), from a fixed set.
    pub tone: &'static str,
}

impl BarChart {
    /// A chart of `items`, in their order; `empty` is shown when there is
    /// nothing to draw.
    pub fn new(id: &str, title: String, desc: String, items: Vec<Item>, empty: String) -> Self {
        let max = items.iter().map(|i| i.value).max().unwrap_or(0).max(1);
        let room = u64::from(WIDTH - LABEL_WIDTH - VALUE_ROOM);
        let bars: Vec<Bar> = items
            .into_iter()
            .enumerate()
            .map(|(n, item)| Bar {
                label: super::views::excerpt(&item.label, 14),
                width: u32::try_from(item.value * room / max).unwrap_or(0),
                y: u32::try_from(n).unwrap_or(0) * ROW,
                value: item.value,
                tone: item.tone,
            })
            .collect();
        let rows = u32::try_from(bars.len()).unwrap_or(0).max(1);
        Self {
            id: id.to_owned(),
            title,
            desc,
            height: rows * ROW + 4,
            bars,
            empty,
        }
    }

    fn label_x(&self) -> u32 {
        LABEL_WIDTH - 8
    }

    fn bar_x(&self) -> u32 {
        LABEL_WIDTH
    }

    fn width(&self) -> u32 {
        WIDTH
    }

    /// Whether every figure is zero.
    fn is_empty(&self) -> bool {
        self.bars.iter().all(|b| b.value == 0)
    }
}

/// One column.
pub struct Column {
    label: String,
    title: String,
    value: u64,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    label_x: u32,
}

/// A horizontal grid line with its figure.
pub struct Tick {
    y: u32,
    label: u64,
}

/// Columns over time, oldest left.
#[derive(Template)]
#[template(path = "chart_columns.html")]
pub struct ColumnChart {
    id: String,
    title: String,
    desc: String,
    columns: Vec<Column>,
    ticks: Vec<Tick>,
    empty: String,
}

/// A step for the grid that gives about four lines up to `max`.
fn nice_step(max: u64) -> u64 {
    let rough = (max / 4).max(1);
    let mut step = 1;
    while step * 10 <= rough {
        step *= 10;
    }
    for m in [1, 2, 5, 10] {
        if step * m >= rough {
            return step * m;
        }
    }
    step * 10
}

impl ColumnChart {
    /// A chart of `(short label, long label, figure)` columns, in order.
    pub fn new(
        id: &str,
        title: String,
        desc: String,
        items: Vec<(String, String, u64)>,
        empty: String,
    ) -> Self {
        let max = items.iter().map(|i| i.2).max().unwrap_or(0).max(1);
        let step = nice_step(max);
        let top = max.div_ceil(step) * step;
        let scale = |v: u64| u32::try_from(v * u64::from(PLOT_HEIGHT) / top).unwrap_or(0);
        let n = u32::try_from(items.len()).unwrap_or(1).max(1);
        let slot = (WIDTH - LEFT_AXIS) / n;
        let width = (slot * 7 / 10).max(2);
        let columns = items
            .into_iter()
            .enumerate()
            .map(|(i, (label, title, value))| {
                let i = u32::try_from(i).unwrap_or(0);
                let height = scale(value);
                let x = LEFT_AXIS + i * slot + (slot - width) / 2;
                Column {
                    label,
                    title,
                    value,
                    x,
                    y: 8 + PLOT_HEIGHT - height,
                    width,
                    height,
                    label_x: x + width / 2,
                }
            })
            .collect();
        let ticks = (0..=top / step)
            .map(|k| Tick {
                y: 8 + PLOT_HEIGHT - scale(k * step),
                label: k * step,
            })
            .collect();
        Self {
            id: id.to_owned(),
            title,
            desc,
            columns,
            ticks,
            empty,
        }
    }

    fn width(&self) -> u32 {
        WIDTH
    }

    fn height(&self) -> u32 {
        8 + PLOT_HEIGHT + AXIS_ROOM
    }

    fn axis_x(&self) -> u32 {
        LEFT_AXIS
    }

    fn tick_label_x(&self) -> u32 {
        LEFT_AXIS - 6
    }

    fn baseline(&self) -> u32 {
        8 + PLOT_HEIGHT
    }

    fn label_y(&self) -> u32 {
        8 + PLOT_HEIGHT + 18
    }

    /// Whether every figure is zero.
    fn is_empty(&self) -> bool {
        self.columns.iter().all(|c| c.value == 0)
    }

    /// Whether there are too many columns to label each (every other one is).
    fn crowded(&self) -> bool {
        self.columns.len() > 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_charts_name_themselves() {
        let chart = BarChart::new(
            "c",
            "범주별".into(),
            "범주별 신고 수".into(),
            vec![
                Item {
                    label: "범죄 위험".into(),
                    value: 4,
                    tone: "a",
                },
                Item {
                    label: "택배 도난".into(),
                    value: 2,
                    tone: "b",
                },
            ],
            "없음".into(),
        );
        assert_eq!(chart.bars[0].width, WIDTH - LABEL_WIDTH - VALUE_ROOM);
        assert_eq!(chart.bars[1].width, (WIDTH - LABEL_WIDTH - VALUE_ROOM) / 2);
        let svg = chart.render().expect("render");
        assert!(svg.contains("role=\"img\""), "{svg}");
        assert!(
            svg.contains("<title id=\"c-title\">범주별</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>범죄 위험: 4</title>"), "{svg}");
        assert!(!svg.contains("style="), "no inline style: {svg}");
    }

    #[test]
    fn columns_have_a_grid_of_round_figures() {
        assert_eq!(nice_step(7), 1);
        assert_eq!(nice_step(40), 10);
        assert_eq!(nice_step(90), 50);
        let chart = ColumnChart::new(
            "t",
            "월별".into(),
            "월별 신고 수".into(),
            vec![
                ("10월".into(), "2026-10".into(), 0),
                ("11월".into(), "2026-11".into(), 6),
            ],
            "없음".into(),
        );
        assert_eq!(chart.columns[0].height, 0);
        assert_eq!(chart.columns[1].height, PLOT_HEIGHT);
        assert_eq!(chart.ticks.last().map(|t| t.label), Some(6));
        let svg = chart.render().expect("render");
        assert!(svg.contains("<title>2026-11: 6</title>"), "{svg}");
    }
}
