# Worked analysis in base R (no package from CRAN): read the exported tables in out/ and redraw three charts of
# report.html as PNG files — meetings per year by collaboration type, depth of collaboration over time, meetings
# per year by bloc.
#
#   Rscript examples/analysis.R            # reads out/, writes out/figures-r/*.png
#   Rscript examples/analysis.R OUT DIR
#
# It reads only the exports (meetings.csv and panel.csv, UTF-8 with BOM) and prints, as CSV, the numbers it drew.
# The counts by type are computed from meetings.csv, one row per meeting; the depth shares and the blocs come
# from panel.csv (long format: year x bloc x measure), the table every chart of the report is drawn from.
# Chinese labels need a CJK font that fontconfig finds (Debian: fonts-noto-cjk).

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[[1]] else "out"
to <- if (length(args) >= 2) args[[2]] else file.path(out, "figures-r")
dir.create(to, showWarnings = FALSE, recursive = TRUE)

read_export <- function(name) {
  read.csv(file.path(out, paste0(name, ".csv")), fileEncoding = "UTF-8-BOM", stringsAsFactors = FALSE,
           na.strings = "")
}
as_flag <- function(x) !is.na(x) & toupper(as.character(x)) == "TRUE"
colours <- c("#999999", "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
open_png <- function(file) {
  png(file.path(to, file), width = 1200, height = 540, res = 120,
      type = if (capabilities("cairo")) "cairo" else "Xlib")
  par(family = "sans", mar = c(4, 4.5, 3, 1))
}

meetings <- read_export("meetings")
panel <- read_export("panel")

# meetings per year by collaboration type, from meetings.csv
dated <- meetings[!is.na(meetings$year), ]
years <- seq(min(dated$year), max(dated$year))
count_by_year <- function(flag) as.integer(table(factor(dated$year[flag], levels = years)))
by_type <- data.frame(year = years,
                      meetings = count_by_year(rep(TRUE, nrow(dated))),
                      cross_regional = count_by_year(as_flag(dated$cross_regional)),
                      cross_level = count_by_year(as_flag(dated$cross_level)),
                      cross_departmental = count_by_year(as_flag(dated$cross_departmental)))
open_png("meetings_by_type.png")
barplot(t(as.matrix(by_type[, -1])), beside = TRUE, names.arg = years, col = colours[1:4], border = NA,
        xlim = c(0, 5 * length(years) * 1.3), ylab = "会议 meetings",
        main = "每年会议数（按合作类型） Meetings per year by collaboration type",
        legend.text = c("全部 all", "跨区域 cross-regional", "跨层级 cross-level", "跨部门 cross-departmental"),
        args.legend = list(x = "topright", bty = "n", cex = 0.8))
invisible(dev.off())

# depth over time, from the panel (bloc all)
wide <- function(bloc, measures) {
  sub <- panel[panel$bloc == bloc & panel$measure %in% measures & !is.na(panel$year), ]
  m <- matrix(0, nrow = length(measures), ncol = length(years), dimnames = list(measures, years))
  for (i in seq_len(nrow(sub))) m[sub$measure[i], as.character(sub$year[i])] <- sub$value[i]
  m
}
depth <- wide("all", paste0("share_depth_", 1:4))
open_png("depth_over_time.png")
barplot(depth, col = colours[2:5], border = NA, ylim = c(0, 1), xlim = c(0, 1.2 * length(years) * 1.3),
        ylab = "会议占比 share of meetings", main = "合作深度 Depth of collaboration over time",
        legend.text = c("1 信息交流", "2 协商协调", "3 共同协议规划", "4 联合实施"),
        args.legend = list(x = "topright", bty = "n", cex = 0.8))
invisible(dev.off())

# meetings per year by bloc, from the panel
blocs <- sort(unique(panel$bloc[panel$bloc != "all"]))
per_bloc <- t(sapply(blocs, function(b) wide(b, "meetings")[1, ]))
if (length(blocs) == 1) per_bloc <- matrix(per_bloc, nrow = 1, dimnames = list(blocs, years))
open_png("blocs.png")
barplot(per_bloc, beside = TRUE, col = colours[seq_along(blocs) + 1], border = NA, ylab = "会议 meetings",
        xlim = c(0, (length(blocs) + 1) * length(years) * 1.3),
        main = "各区域板块每年会议数 Meetings per year by bloc", legend.text = blocs,
        args.legend = list(x = "topright", bty = "n", cex = 0.8))
invisible(dev.off())

write.csv(by_type, stdout(), row.names = FALSE, quote = FALSE)
message("wrote ", file.path(to, c("meetings_by_type.png", "depth_over_time.png", "blocs.png")))
