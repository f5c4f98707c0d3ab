"""The published site: asv's history pages plus ours (versions, efficiency, environment,
regressions), with what they show extracted in `data`, drawn in `plots` and written by `publish`.
Static: no network at view time."""

from torchperf_core.site.data import SiteData, load_site, version_rows
from torchperf_core.site.plots import write_all as write_plots
from torchperf_core.site.publish import PublishResult, bundle_asv_assets, publish_site

__all__ = ["PublishResult", "SiteData", "bundle_asv_assets", "load_site", "publish_site", "version_rows", "write_plots"]
