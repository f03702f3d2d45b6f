/** course handout: placeholder until the HTML handout lands (a helper builds src/course/handout/). */
import { InputError } from '../errors.js';
import type { Platform } from '../lab/lab-file.js';

export async function handoutCommand(_o: { lab?: string; platform?: Platform; out?: string }): Promise<number> {
  throw new InputError('course handout is not built yet', 'Use `npm run lesson -- --write DIR` for the Markdown course meanwhile.');
}
