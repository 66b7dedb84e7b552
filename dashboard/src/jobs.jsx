// Jobs: what the cluster's scripts scheduled, when each fires next, runs per node, and
// a button that runs one now on every node.

import { useEffect, useState } from 'preact/hooks';
import { json } from './api.js';

function relative(iso) {
  if (!iso) return 'never again';
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (seconds < 0) return `${iso} (due)`;
  const text = seconds < 120 ? `${seconds} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
  return `in ${text} (${new Date(iso).toLocaleString()})`;
}

export function Jobs() {
  const [jobs, setJobs] = useState({ jobs: [], running: true });
  const [message, setMessage] = useState('');

  const load = () => json('/api/jobs').then(setJobs).catch((e) => setMessage(e.message));
  useEffect(() => {
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);

  const run = async (tag) => {
    try {
      await json(`/api/jobs/${encodeURIComponent(tag)}/run`, { method: 'POST' });
      setMessage(`${tag}: run requested on every node`);
      // The runs per node count up as the nodes take it.
      setTimeout(load, 1000);
    } catch (e) {
      setMessage(`${tag}: ${e.message}`);
    }
  };

  return (
    <div class="jobs">
      <p class="muted">
        {jobs.running ? 'The scheduler is running.' : 'The scheduler is stopped (jobs.stop()).'} {message}
      </p>
      {jobs.jobs.length === 0 ? (
        <p>No jobs: a script schedules one with jobs.schedule(tag, cron, function).</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>tag</th>
              <th>cron</th>
              <th>limit</th>
              <th>next run</th>
              <th>runs per node</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {jobs.jobs.map((j) => (
              <tr data-tag={j.tag}>
                <td>{j.tag}</td>
                <td><code>{j.cron}</code></td>
                <td>{j.limit || 'none'}</td>
                <td>{relative(j.next)}</td>
                <td>
                  {Object.entries(j.runs).map(([node, n]) => `${node}: ${n}`).join(', ') || '—'}
                </td>
                <td>
                  <button onClick={() => run(j.tag)}>Run now</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
