/** The lab file a real debian12 container lab of a test uses: its name, its four forwarded ports, which sections. */
import { writeFileSync } from 'node:fs';

export interface ContainerLab {
  name: string;
  /** Host ports for the guest's 25, 587, 465 and 10025. */
  ports: [number, number, number, number];
  /** 'all', or the memo sections to run, e.g. [1]. */
  sections: 'all' | number[];
}

export function containerLabYaml(l: ContainerLab): string {
  const [smtp, submission, smtps, deux] = l.ports;
  const all = l.sections === 'all';
  return [
    `name: ${l.name}`,
    'driver: container',
    'platform: debian12',
    'ports:',
    `  - { guest: 25, host: ${smtp} }`,
    `  - { guest: 587, host: ${submission} }`,
    `  - { guest: 465, host: ${smtps} }`,
    `  - { guest: 10025, host: ${deux} }`,
    `sections: ${all ? 'all' : `[${(l.sections as number[]).join(', ')}]`}`,
    // the second instance's host name only where section 4 runs
    `params: { hostname: mail.lab.example, ${all ? 'hostname_deux: deux.lab.example, ' : ''}mail_user: learner }`,
    '',
  ].join('\n');
}

export const writeContainerLab = (file: string, l: ContainerLab): void => writeFileSync(file, containerLabYaml(l));
