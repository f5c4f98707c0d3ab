"""The published site: asv's history pages plus ours (versions, efficiency, environment,
regressions). What they show is read in `data` (through the store's and the machine's one readers)
and derived in `versions` (compare's verdicts), `efficiency` (fractions of the calibrated ceilings,
flagged when stale) and `environments` (fingerprint differences); drawn in `plots`, written by
`publish`. Static: no network at view time."""

from torchperf_core.site.data import SiteData, load_site
from torchperf_core.site.versions import version_rows
from torchperf_core.site.plots import write_all as write_plots
from torchperf_core.site.publish import PublishResult, bundle_asv_assets, publish_site

__all__ = ["PublishResult", "SiteData", "bundle_asv_assets", "load_site", "publish_site", "version_rows", "write_plots"]
