/** Branch names shared by every driver (DESIGN.md: "Branch names"). */
export const campaignBranch = (campaign: string): string => `autoresearch/${campaign}/best`;
export const experimentBranch = (campaign: string, experiment: number): string => `autoresearch/${campaign}/${experiment}`;
export const LEDGER_BRANCH = "autoresearch/ledger";
