//! Greedy line breaking at Unicode line-break opportunities, measured by the caller's shaper.

use unicode_linebreak::{BreakOpportunity, linebreaks};

use super::TextLine;

/// Breaks `text` into lines: always at '\n'; with `max_width`, also at the last break
/// opportunity that keeps the line (without trailing spaces) within `max_width`. A word that
/// alone is wider stays whole. Widths come from `measure`, so they equal what is drawn.
pub(super) fn wrap(
    text: &str,
    max_width: Option<f32>,
    measure: impl Fn(&str) -> f32,
) -> Vec<TextLine> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let para = para.strip_suffix('\r').unwrap_or(para);
        let Some(max) = max_width.filter(|m| m.is_finite()) else {
            out.push(line(para, &measure));
            continue;
        };
        if measure(para.trim_end()) <= max {
            out.push(line(para, &measure));
            continue;
        }
        // Break positions inside the paragraph (the end of the paragraph is always one).
        let breaks: Vec<usize> = linebreaks(para)
            .filter(|&(_, o)| o == BreakOpportunity::Allowed || o == BreakOpportunity::Mandatory)
            .map(|(i, _)| i)
            .collect();
        let mut start = 0;
        while start < para.len() {
            let candidates: Vec<usize> = breaks.iter().copied().filter(|&b| b > start).collect();
            let Some(&first) = candidates.first() else {
                out.push(line(&para[start..], &measure));
                break;
            };
            // Widths grow with the prefix, so the longest fitting prefix is found by bisection.
            let fits = |end: usize| measure(para[start..end].trim_end()) <= max;
            let (mut lo, mut hi) = (0usize, candidates.len());
            while lo < hi {
                let mid = (lo + hi) / 2;
                if fits(candidates[mid]) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let end = if lo == 0 { first } else { candidates[lo - 1] };
            out.push(line(&para[start..end], &measure));
            start = end;
        }
    }
    out
}

fn line(text: &str, measure: &impl Fn(&str) -> f32) -> TextLine {
    let text = text.trim_end().to_string();
    let width = measure(&text);
    TextLine { text, width }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every char is 10 px wide: the breaking logic without fonts.
    fn mono(s: &str) -> f32 {
        s.chars().count() as f32 * 10.0
    }

    fn texts(lines: &[TextLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn without_max_width_breaks_only_at_newlines() {
        let lines = wrap("hello world\nsecond line", None, mono);
        assert_eq!(texts(&lines), ["hello world", "second line"]);
        assert_eq!(lines[0].width, 110.0);
    }

    #[test]
    fn breaks_at_the_last_word_that_fits_and_drops_trailing_spaces() {
        let lines = wrap("aaa bbb ccc ddd", Some(75.0), mono);
        assert_eq!(texts(&lines), ["aaa bbb", "ccc ddd"]);
        assert!(lines.iter().all(|l| l.width <= 75.0));
    }

    #[test]
    fn a_word_wider_than_the_line_stays_whole() {
        let lines = wrap("a verylongword b", Some(50.0), mono);
        assert_eq!(texts(&lines), ["a", "verylongword", "b"]);
    }

    #[test]
    fn cjk_breaks_between_ideographs() {
        let lines = wrap("你好世界你好", Some(40.0), mono);
        assert_eq!(texts(&lines), ["你好世界", "你好"]);
    }

    #[test]
    fn empty_paragraphs_are_kept() {
        assert_eq!(texts(&wrap("a\n\nb", Some(100.0), mono)), ["a", "", "b"]);
    }
}
