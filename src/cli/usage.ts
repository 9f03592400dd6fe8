/** A command-line mistake: printed without a stack trace, exit code 2. */
export class UsageError extends Error {}

export const USAGE = `Usage:
  face-refiner serve [--no-worker]        run the API and the workers (--no-worker: the API only)
  face-refiner worker                     run workers only (scaled-out deployments)
  face-refiner refine <input> -o <output> [--model M] [--denoising 1-5] [--seed S] [--format F] [--json] [--debug]
  face-refiner keys create --org ID --scope generator|manager|admin [--name NAME]
  face-refiner orgs create --name NAME     create an organization and print its first admin key
  face-refiner migrate                    apply database migrations and exit
  face-refiner models list [--json]       the learned restorers: kind, size, installed or not, where
  face-refiner models pull NAME [--url URL]   download one into MODELS_DIR (resumes; verifies its hash)
  face-refiner models verify [NAME...]    check installed model files against their hashes
Configuration is read from the environment (SQLite and files under DATA_DIR unless DATABASE_URL and
S3_* say otherwise); see README.md.`;
