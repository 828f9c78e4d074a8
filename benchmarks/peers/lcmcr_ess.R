#!/usr/bin/env Rscript
# LCMCR ESS-of-N benchmark on one pattern-count CSV.
# Usage: Rscript lcmcr_ess.R <counts.csv> seed=1 K=10 burnin=10000 iters=100000 thin=10 a_alpha=0.25 b_alpha=0.25 trace=FILE
# iters = post-burn-in MCMC iterations; samples kept = iters/thin (N recorded at every kept sample).
# LCMCR and coda from the library path R is given (R_LIBS_USER / R_LIBS).
suppressPackageStartupMessages({library(LCMCR); library(coda)})
args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]
opts <- list(seed = 1, K = 10, burnin = 10000, iters = 100000, thin = 10, a_alpha = 0.25, b_alpha = 0.25)
trace_file <- NA
for (a in args[-1]) {
  kv <- strsplit(a, "=", fixed = TRUE)[[1]]
  if (kv[1] == "trace") trace_file <- kv[2] else opts[[kv[1]]] <- as.numeric(kv[2])
}
samples <- opts$iters / opts$thin
stopifnot(samples == round(samples))

## load table the same way as the peers runner: header, 0/1 list columns, last = count
raw <- read.csv(csv, check.names = FALSE)
p <- ncol(raw) - 1
pat <- as.matrix(raw[, 1:p]); storage.mode(pat) <- "integer"
cnt <- as.numeric(raw[[p + 1]])
keep <- rowSums(pat) > 0 & cnt > 0
pat <- pat[keep, , drop = FALSE]; cnt <- cnt[keep]
ind <- as.data.frame(pat[rep(seq_len(nrow(pat)), times = cnt), , drop = FALSE])
for (j in seq_len(p)) ind[[j]] <- factor(ind[[j]], levels = c(0, 1))
n_obs <- nrow(ind)

t0 <- proc.time()[["elapsed"]]
s <- lcmCR(captures = ind, tabular = FALSE, in_list_label = "1", not_in_list_label = "0",
           K = opts$K, a_alpha = opts$a_alpha, b_alpha = opts$b_alpha,
           seed = opts$seed, buffer_size = 10000, thinning = opts$thin, verbose = FALSE)
t1 <- proc.time()[["elapsed"]]
N <- lcmCR_PostSampl(s, burnin = opts$burnin, samples = samples, thinning = opts$thin, output = FALSE)
t2 <- proc.time()[["elapsed"]]
init_s <- t1 - t0; samp_s <- t2 - t1
stopifnot(length(N) == samples)
q <- quantile(N, c(0.025, 0.5, 0.975), names = FALSE, type = 7)
ess <- as.numeric(effectiveSize(mcmc(N)))
if (!is.na(trace_file)) writeLines(format(N, scientific = FALSE), trace_file)
cat(sprintf("LCMCR %s R %s coda %s | file=%s n_obs=%d lists=%d\n", packageVersion("LCMCR"),
            getRversion(), packageVersion("coda"), basename(csv), n_obs, p))
cat(sprintf("settings: seed=%g K=%g a_alpha=%g b_alpha=%g burnin=%g iters=%g thin=%g samples=%g\n",
            opts$seed, opts$K, opts$a_alpha, opts$b_alpha, opts$burnin, opts$iters, opts$thin, samples))
cat(paste("RESULT", opts$seed, opts$K, opts$a_alpha, opts$b_alpha, opts$burnin, opts$iters, opts$thin, samples,
          sprintf("%.3f", init_s), sprintf("%.3f", samp_s), sprintf("%.1f", q[2]), sprintf("%.1f", q[1]),
          sprintf("%.1f", q[3]), sprintf("%.1f", mean(N)), sprintf("%.1f", ess), sprintf("%.2f", ess / samp_s),
          sprintf("%.2f", ess / (init_s + samp_s)), sep = "\t"), "\n", sep = "")
